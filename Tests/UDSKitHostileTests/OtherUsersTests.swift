import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// Other users, for real: `uds send` run as nobody (uid and gid 65534) through `setpriv`, against `uds serve`
    /// run as root. The socket file's mode is the first gate, the authorization policy the second.
    @Suite("Other users")
    struct OtherUsers {
        static let nobody: UInt32 = 65534
        static let nogroup: UInt32 = 65534

        /// Runs `uds send PATH hello` as uid 65534 with group `gid` and no supplementary groups.
        static func sendAsNobody(_ path: String, group gid: UInt32 = nogroup) async throws -> (
            status: Int32, stdout: String, stderr: String
        ) {
            guard getuid() == 0 else { throw TestFailure("these tests switch users with setpriv and must run as root") }
            let setpriv = try requireExecutable("setpriv")
            return try await ChildProcess.run(
                setpriv,
                ["--reuid=\(nobody)", "--regid=\(gid)", "--clear-groups", udsExecutable, "send", path, "hello"])
        }

        /// A temporary directory that nobody may traverse, so that only the socket file's own mode decides.
        static func withSharedDirectory(_ body: (String) async throws -> Void) async throws {
            try await withTemporaryDirectory { dir in
                guard chmod(dir, 0o755) == 0 else { throw TestFailure("chmod \(dir) failed: errno \(errno)") }
                try await body(dir)
            }
        }

        /// The group and permission bits of the file at `path`.
        static func ownership(_ path: String) throws -> (group: UInt32, mode: UInt32) {
            var status = stat()
            guard lstat(path, &status) == 0 else { throw TestFailure("lstat \(path) failed: errno \(errno)") }
            return (status.st_gid, UInt32(status.st_mode & 0o7777))
        }

        @Test func theDefaultSocketFileKeepsOtherUsersOutAtConnect() async throws {
            try await Self.withSharedDirectory { dir in
                let path = dir + "/private.sock"
                try await withServe(path, ["--quiet"]) { server in
                    #expect(try Self.ownership(path).mode == 0o600)
                    let sent = try await Self.sendAsNobody(path)
                    #expect(sent.status == 4, "\(sent)")
                    #expect(sent.stderr.contains("permission denied"), "\(sent.stderr)")
                    #expect(sent.stdout.isEmpty)
                    #expect(!server.stderr.contains("refused"), "nobody must not even reach the server")
                }
            }
        }

        @Test func anOpenSocketFileStillRefusesOtherUsersByDefault() async throws {
            try await Self.withSharedDirectory { dir in
                let path = dir + "/open.sock"
                try await withServe(path, ["--quiet", "--mode", "0666"]) { server in
                    #expect(try Self.ownership(path).mode == 0o666)
                    let sent = try await Self.sendAsNobody(path)
                    #expect(sent.status == 4, "\(sent)")
                    #expect(sent.stderr.contains("authorization policy does not admit"), "\(sent.stderr)")
                    #expect(
                        try await eventually { server.stderr.contains("peer_uid=\(Self.nobody)") }, "\(server.stderr)")
                    #expect(lines(of: server.stderr, containing: "refused a peer").count == 1, "\(server.stderr)")
                }
            }
        }

        @Test func anAllowedUserIDIsAdmitted() async throws {
            try await Self.withSharedDirectory { dir in
                let path = dir + "/uid.sock"
                try await withServe(path, ["--quiet", "--mode", "0666", "--allow-uid", "\(Self.nobody)"]) { server in
                    let sent = try await Self.sendAsNobody(path)
                    #expect(sent.status == 0, "\(sent)")
                    #expect(sent.stdout == "5\n")
                    #expect(!server.stderr.contains("refused"), "\(server.stderr)")
                }
            }
        }

        @Test func theSocketFilesGroupAndAnAllowedGroupIDAdmitItsMembers() async throws {
            try await Self.withSharedDirectory { dir in
                let path = dir + "/group.sock"
                let arguments = ["--quiet", "--mode", "0660", "--group", "nogroup", "--allow-gid", "\(Self.nogroup)"]
                try await withServe(path, arguments) { server in
                    let file = try Self.ownership(path)
                    #expect(file.group == Self.nogroup, "the socket file's group must be nogroup")
                    #expect(file.mode == 0o660)
                    let member = try await Self.sendAsNobody(path, group: Self.nogroup)
                    #expect(member.status == 0, "\(member)")
                    #expect(member.stdout == "5\n")
                    // The same user in another group (daemon, gid 1) cannot open the file.
                    let outsider = try await Self.sendAsNobody(path, group: 1)
                    #expect(outsider.status == 4, "\(outsider)")
                    #expect(outsider.stderr.contains("permission denied"), "\(outsider.stderr)")
                    #expect(!server.stderr.contains("refused"), "\(server.stderr)")
                }
            }
        }

        @Test func theSocketFilesGroupWithoutAnAllowedGroupIDIsNotEnough() async throws {
            try await Self.withSharedDirectory { dir in
                let path = dir + "/group-only.sock"
                try await withServe(path, ["--quiet", "--mode", "0660", "--group", "nogroup"]) { _ in
                    let sent = try await Self.sendAsNobody(path, group: Self.nogroup)
                    #expect(sent.status == 4, "\(sent)")
                    #expect(sent.stderr.contains("authorization policy does not admit"), "\(sent.stderr)")
                }
            }
        }

        @Test func aRefusalIsCountedEvenForRoot() async throws {
            var configuration = MessageServer.Configuration()
            configuration.authorization = .nobody
            try await withTemporaryDirectory { dir in
                let path = dir + "/nobody.sock"
                try await withRunningServer(at: path, configuration: configuration, handler: .acknowledge) { server in
                    #expect(server.refusedConnectionCount == 0)
                    for attempt in 1...3 {
                        let connection = try RawConnection(path)
                        connection.write(Array("let me in".utf8))
                        connection.closeWrite()
                        let (reply, ending) = try connection.readUntilClosed(maximumSize: 4096)
                        #expect(String(decoding: reply, as: UTF8.self) == "error: not authorized\n")
                        #expect(ending != .timedOut)
                        #expect(server.refusedConnectionCount == attempt)
                    }
                    let client = try MessageClient(path: path)
                    await #expect(throws: UnixSocketError.self) { try await client.deliver(Message("root")) }
                    #expect(server.refusedConnectionCount == 4)
                    #expect(server.openConnectionCount == 0)
                }
            }
        }
    }
}
