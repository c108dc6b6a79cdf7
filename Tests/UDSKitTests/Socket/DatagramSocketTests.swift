import Foundation
import SystemPackage
import Testing
import UDSKitTestSupport

@testable import UDSKit

@Suite("Datagram sockets: messages to and from addresses")
struct DatagramSocketTests {
    private func bound(_ path: String, authorization: AuthorizationPolicy = .sameUser) throws -> DatagramSocket {
        let socket = try DatagramSocket.bind(to: UnixSocketAddress(path), authorization: authorization)
        try socket.setReadTimeout(.seconds(30))
        return socket
    }

    @Test func aDatagramArrivesWithItsSenderWhoGetsAReply() async throws {
        try await withTemporaryDirectory { dir in
            let server = try bound(dir + "/d.sock")
            let client = try DatagramSocket.autobound()
            try client.setReadTimeout(.seconds(30))
            #expect(client.localAddress?.isAbstract == true, "Linux autobinds to an abstract name")
            try await client.send("ping", to: UnixSocketAddress(dir + "/d.sock"))
            let datagram = try await server.receive()
            #expect(datagram.message.string == "ping")
            #expect(datagram.sender == client.localAddress)
            #expect(
                datagram.senderCredentials
                    == PeerCredentials(processID: getpid(), userID: geteuid(), groupID: getegid()))
            try await server.send("pong", to: datagram.sender!)
            let reply = try await client.receive()
            #expect(reply.message.string == "pong")
            #expect(reply.sender == server.localAddress)
            server.close()
            #expect(!FileManager.default.fileExists(atPath: dir + "/d.sock"), "close removes the socket file")
        }
    }

    @Test func aConnectedSocketTakesDatagramsFromItsPeerOnly() async throws {
        try await withTemporaryDirectory { dir in
            let server = try bound(dir + "/peer.sock")
            let client = try DatagramSocket.autobound(authorization: .anyone)
            try client.setReadTimeout(.seconds(30))
            try client.connect(to: UnixSocketAddress(dir + "/peer.sock"))
            let stranger = try DatagramSocket.unbound()
            let error = #expect(throws: UnixSocketError.self) {
                try stranger.send("spoofed reply", to: client.localAddress)
            }
            #expect(error?.code == .permissionDenied, "the kernel refuses a sender that is not the connected peer")
            try await client.send("request")
            let request = try await server.receive()
            try await server.send("reply", to: request.sender!)
            #expect(try await client.receive().message.string == "reply")
        }
    }

    @Test func boundariesAreKeptAndEmptyDatagramsAreMessagesToo() async throws {
        try await withTemporaryDirectory { dir in
            let server = try bound(dir + "/b.sock")
            let client = try DatagramSocket.unbound()
            try client.connect(to: UnixSocketAddress(dir + "/b.sock"))
            for text in ["one", "", "three", String(repeating: "x", count: 60_000)] {
                try await client.send(Message(text))
            }
            for text in ["one", "", "three", String(repeating: "x", count: 60_000)] {
                let datagram = try await server.receive()
                #expect(datagram.message.string == text)
                #expect(datagram.sender == nil, "an unbound sender has no address")
            }
        }
    }

    @Test func sizeLimitsAreClearErrorsAndLoseNothingElse() async throws {
        try await withTemporaryDirectory { dir in
            let server = try bound(dir + "/l.sock")
            let client = try DatagramSocket.unbound()
            let address = try UnixSocketAddress(dir + "/l.sock")
            let tooLarge = #expect(throws: UnixSocketError.self) {
                try client.send(Message(bytes: [UInt8](repeating: 1, count: 8 << 20)), to: address)
            }
            #expect(tooLarge?.code == .messageTooLarge)
            #expect("\(tooLarge!)".contains("SO_SNDBUF"), "\(tooLarge!)")
            try await client.send(Message(bytes: [UInt8](repeating: 2, count: 300)), to: address)
            try await client.send("next", to: address)
            let cut = #expect(throws: UnixSocketError.self) { _ = try server.receive(maximumSize: 100) }
            #expect(cut?.code == .messageTooLarge)
            #expect("\(cut!)".contains("300 bytes"), "\(cut!)")
            #expect(try await server.receive(maximumSize: 100).message.string == "next")
        }
    }

    @Test func sendingWhereNobodyReceivesSaysWhy() async throws {
        try await withTemporaryDirectory { dir in
            let client = try DatagramSocket.unbound()
            let missing = #expect(throws: UnixSocketError.self) {
                try client.send("x", to: UnixSocketAddress(dir + "/nothing.sock"))
            }
            #expect(missing?.code == .noSocketFile)
            let gone = try DatagramSocket.bind(to: UnixSocketAddress(dir + "/gone.sock"))
            let python = try requireExecutable("python3")
            // a stale file: bound by a process that exited without removing it
            let made = try await ChildProcess.run(
                python,
                [
                    "-c", "import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])",
                    dir + "/stale.sock",
                ])
            #expect(made.status == 0)
            let stale = #expect(throws: UnixSocketError.self) {
                try client.send("x", to: UnixSocketAddress(dir + "/stale.sock"))
            }
            #expect(stale?.code == .staleSocketFile)
            // binding there replaces the stale file; binding a live one does not
            let replaced = try bound(dir + "/stale.sock")
            try await client.send("now", to: UnixSocketAddress(dir + "/stale.sock"))
            #expect(try await replaced.receive().message.string == "now")
            let live = #expect(throws: UnixSocketError.self) {
                _ = try DatagramSocket.bind(to: UnixSocketAddress(dir + "/gone.sock"))
            }
            #expect(live?.code == .serverAlreadyListening)
            try "keep me".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
            let file = #expect(throws: UnixSocketError.self) {
                _ = try DatagramSocket.bind(to: UnixSocketAddress(dir + "/file"))
            }
            #expect(file?.code == .notASocket)
            #expect(try String(contentsOfFile: dir + "/file", encoding: .utf8) == "keep me")
            gone.close()
        }
    }

    @Test func theSocketFileGetsItsPermissionsAndTheDefaultIsOwnerOnly() async throws {
        try await withTemporaryDirectory { dir in
            let socket = try bound(dir + "/m.sock")
            let mode = try FileManager.default.attributesOfItem(atPath: dir + "/m.sock")[.posixPermissions] as? Int
            #expect(mode == 0o600)
            socket.close()
            let shared = try DatagramSocket.bind(
                to: UnixSocketAddress(dir + "/m.sock"), permissions: [.ownerReadWrite, .groupReadWrite])
            #expect(
                try FileManager.default.attributesOfItem(atPath: dir + "/m.sock")[.posixPermissions] as? Int == 0o660)
            shared.close()
        }
    }

    @Test func theAuthorizationPolicyDropsAndCountsRefusedSenders() async throws {
        try await withTemporaryDirectory { dir in
            let closed = try DatagramSocket.bind(to: UnixSocketAddress(dir + "/n.sock"), authorization: .nobody)
            try closed.setReadTimeout(.milliseconds(300))
            let client = try DatagramSocket.unbound()
            try await client.send("let me in", to: UnixSocketAddress(dir + "/n.sock"))
            let error = #expect(throws: UnixSocketError.self) { _ = try closed.receive() }
            #expect(error?.code == .timedOut)
            #expect(closed.refusedCount == 1)
            let abstract = #expect(throws: UnixSocketError.self) {
                _ = try DatagramSocket.bind(to: UnixSocketAddress("@udskit-test-\(getpid())"), authorization: .anyone)
            }
            #expect(abstract?.code == .permissionDenied)
            let protected = try DatagramSocket.bind(to: UnixSocketAddress("@udskit-test-\(getpid())"))
            try await client.send("abstract", to: UnixSocketAddress("@udskit-test-\(getpid())"))
            #expect(try await protected.receive().message.string == "abstract")
        }
    }

    @Test func descriptorsTravelWithDatagramsAndNoneLeak() async throws {
        try await withTemporaryDirectory { dir in
            let secret = dir + "/secret.txt"
            try "passed by descriptor".write(toFile: secret, atomically: true, encoding: .utf8)
            let before = openDescriptors(on: secret)
            do {
                let server = try bound(dir + "/f.sock")
                let client = try DatagramSocket.unbound()
                let file = try FileDescriptor.open(secret, .readOnly)
                defer { try? file.close() }
                try await client.send("with one", to: UnixSocketAddress(dir + "/f.sock"), passing: [file])
                try await client.send(
                    "with three", to: UnixSocketAddress(dir + "/f.sock"), passing: [file, file, file])
                let first = try await server.receive(descriptorLimit: 4)
                #expect(first.descriptors.count == 1)
                var contents = [UInt8](repeating: 0, count: 100)
                let count = try contents.withUnsafeMutableBytes {
                    try first.descriptors[0].descriptor.read(fromAbsoluteOffset: 0, into: $0)
                }
                #expect(String(decoding: contents[..<count], as: UTF8.self) == "passed by descriptor")
                let second = try await server.receive()  // takes none: all three are closed
                #expect(second.descriptors.isEmpty)
                #expect(second.message.string == "with three")
            }
            #expect(openDescriptors(on: secret) == before)
        }
    }

    @Test func closingWakesAReceiveWaitingOnAnotherThread() async throws {
        try await withTemporaryDirectory { dir in
            let socket = try DatagramSocket.bind(to: UnixSocketAddress(dir + "/w.sock"))
            let waiting = Task { try await socket.receive() }
            let descriptor = socket.socket.descriptor
            try await waitUntil("the receive waits on the client reactor") {
                descriptorsWatchedByAReactor().contains(descriptor)
            }
            socket.close()
            // A receive that the close did not wake would hang the run: the watchdog cancels it and fails the test.
            let result = try await withWatchdog(seconds: 60, onTimeout: { waiting.cancel() }) { await waiting.result }
            #expect(throws: UnixSocketError.self) { try result.get() }
        }
    }
}
