import Foundation
import SystemPackage
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests.OtherUsers {
    /// Runs `uds send --datagram|--seqpacket … PATH hello` as nobody (uid and gid 65534, no supplementary groups).
    static func sendAsNobody(_ path: String, _ options: [String]) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        guard getuid() == 0 else { throw TestFailure("these tests switch users with setpriv and must run as root") }
        let setpriv = try requireExecutable("setpriv")
        return try await ChildProcess.run(
            setpriv,
            ["--reuid=\(nobody)", "--regid=\(nogroup)", "--clear-groups", udsExecutable, "send"] + options + [
                path, "hello",
            ])
    }

    @Test func aDatagramSocketsDefaultFileKeepsOtherUsersOut() async throws {
        try await Self.withSharedDirectory { dir in
            let socket = try DatagramSocket.bind(to: UnixSocketAddress(dir + "/private.sock"))
            defer { socket.close() }
            #expect(try Self.ownership(dir + "/private.sock").mode == 0o600)
            let sent = try await Self.sendAsNobody(dir + "/private.sock", ["--datagram", "--no-reply"])
            #expect(sent.status == 4, "\(sent)")
            #expect(sent.stderr.contains("permission denied"), "\(sent.stderr)")
            #expect(socket.refusedCount == 0, "nothing reached the socket")
        }
    }

    @Test func anOpenDatagramSocketDropsOtherUsersDatagramsByDefault() async throws {
        try await Self.withSharedDirectory { dir in
            let path = dir + "/open.sock"
            let socket = try DatagramSocket.bind(
                to: UnixSocketAddress(path), permissions: [.ownerReadWrite, .groupReadWrite, .otherReadWrite])
            defer { socket.close() }
            try socket.setReadTimeout(.seconds(30))
            let sent = try await Self.sendAsNobody(path, ["--datagram", "--no-reply"])
            #expect(sent.status == 0, "the kernel takes it: \(sent)")
            // Root's datagram, sent after nobody's, is the first one receive returns.
            try await DatagramSocket.unbound().send("from root", to: UnixSocketAddress(path))
            let received = try await socket.receive()
            #expect(received.message.string == "from root")
            #expect(received.senderCredentials?.userID == 0)
            #expect(socket.refusedCount == 1)
        }
    }

    @Test func anAllowedUserIDsDatagramsArriveWithItsCredentialsAndGetAnswers() async throws {
        try await Self.withSharedDirectory { dir in
            let path = dir + "/allowed.sock"
            let socket = try DatagramSocket.bind(
                to: UnixSocketAddress(path), permissions: [.ownerReadWrite, .groupReadWrite, .otherReadWrite],
                authorization: AuthorizationPolicy.sameUser.allowing(userIDs: [Self.nobody]))
            defer { socket.close() }
            try socket.setReadTimeout(.seconds(30))
            async let sent = Self.sendAsNobody(path, ["--datagram", "--timeout", "30"])
            let received = try await socket.receive()
            #expect(received.message.string == "hello")
            #expect(received.senderCredentials?.userID == Self.nobody)
            #expect(received.senderCredentials?.groupID == Self.nogroup)
            try await socket.send(Acknowledgement.reply(forByteCount: received.message.count), to: received.sender!)
            let result = try await sent
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == "5\n")
        }
    }

    @Test func aSeqPacketServerRefusesOtherUsersAtAcceptAndAdmitsAnAllowedOne() async throws {
        try await Self.withSharedDirectory { dir in
            var configuration = MessageServer.Configuration.seqPacket
            configuration.socketPermissions = [.ownerReadWrite, .groupReadWrite, .otherReadWrite]
            let refusing = dir + "/refusing.sock"
            try await withRunningServer(at: refusing, configuration: configuration, framedHandler: .acknowledge) {
                server in
                let sent = try await Self.sendAsNobody(refusing, ["--seqpacket"])
                #expect(sent.status != 0, "\(sent)")
                #expect(sent.stdout.isEmpty)
                #expect(server.refusedConnectionCount == 1)
            }
            configuration.authorization = AuthorizationPolicy.sameUser.allowing(userIDs: [Self.nobody])
            let admitting = dir + "/admitting.sock"
            try await withRunningServer(at: admitting, configuration: configuration, framedHandler: .acknowledge) {
                server in
                let sent = try await Self.sendAsNobody(admitting, ["--seqpacket"])
                #expect(sent.status == 0, "\(sent)")
                #expect(sent.stdout == "5\n")
                #expect(server.refusedConnectionCount == 0)
            }
        }
    }
}
