import Foundation
import Logging
import ServiceLifecycle
import Testing
import UDSKit
import UDSKitTestSupport

@Suite("DatagramServer: a Service on a SOCK_DGRAM socket, with Python datagram peers")
struct DatagramServerTests {
    /// A Python peer: binds its own datagram socket beside the server's, sends each message (the arguments after
    /// the count) as one datagram, then prints the first COUNT replies, each on its own line. The server handles
    /// datagrams in order, so the replies come in order too. A reply's own final newline is not printed twice.
    static let peer = """
        import os, socket, sys
        path, count, messages = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
        me = path + ".peer"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(me)
        try:
            for message in messages:
                s.sendto(message.encode(), path)
            for _ in range(count):
                print(s.recv(65536).decode().rstrip("\\n"))
        finally:
            os.unlink(me)
        """

    @Test func aPythonPeerGetsEachReplyAndAHandlerErrorAsAnErrorReply() async throws {
        let python = try requireExecutable("python3")
        try await withTemporaryDirectory { dir in
            let path = dir + "/d.sock"
            let server = DatagramServer(address: try UnixSocketAddress(path)) { datagram in
                if datagram.message.string == "refuse" { throw MessageRejection("not this one") }
                if datagram.message.string == "fail" { throw CancellationError() }
                return Message("got \(datagram.message.string) from uid \(datagram.senderCredentials?.userID ?? 0)")
            }
            try await withRunning(server, at: path) {
                let run = try await ChildProcess.run(
                    python, ["-c", Self.peer, path, "4", "hello", "refuse", "fail", "again"])
                #expect(run.status == 0, "\(run.stderr)")
                let uid = getuid()
                #expect(
                    run.stdout
                        == "got hello from uid \(uid)\nerror: not this one\nerror: the handler failed\n"
                        + "got again from uid \(uid)\n")
                #expect(server.statistics.datagrams == 4)
                #expect(server.statistics.handlerErrors == 2)
            }
        }
    }

    @Test func aDatagramPastTheLimitGetsAnErrorReplyAndIsCounted() async throws {
        let python = try requireExecutable("python3")
        try await withTemporaryDirectory { dir in
            let path = dir + "/big.sock"
            var configuration = DatagramServer.Configuration()
            configuration.maximumDatagramSize = 100
            let server = DatagramServer(address: try UnixSocketAddress(path), configuration: configuration) {
                Message("\($0.message.count)")
            }
            try await withRunning(server, at: path) {
                let big = String(repeating: "x", count: 101)
                let run = try await ChildProcess.run(python, ["-c", Self.peer, path, "2", big, "fits"])
                #expect(run.status == 0, "\(run.stderr)")
                #expect(run.stdout == "error: message exceeds the limit of 100 bytes\n4\n")
                #expect(server.statistics.tooLarge == 1)
                #expect(server.statistics.datagrams == 1)
            }
        }
    }

    @Test func aNilReplySendsNothingAndAnUnboundSenderIsHandledToo() async throws {
        let python = try requireExecutable("python3")
        try await withTemporaryDirectory { dir in
            let path = dir + "/quiet.sock"
            let seen = Locked<[String]>([])
            let server = DatagramServer(address: try UnixSocketAddress(path)) { datagram in
                seen.withLock { $0.append(datagram.message.string) }
                return datagram.message.string == "answer" ? Message("answered") : nil
            }
            try await withRunning(server, at: path) {
                // one reply for two datagrams, and it is the second's: the first got none
                let run = try await ChildProcess.run(python, ["-c", Self.peer, path, "1", "silent", "answer"])
                #expect(run.stdout == "answered\n", "\(run.stderr)")
                // socat sends from an unbound socket: the datagram is handled, and nobody can be answered
                let socat = try requireExecutable("socat")
                let sent = try await ChildProcess.run(
                    socat, ["-u", "-", "UNIX-SENDTO:\(path)"], stdin: Data("unbound".utf8))
                #expect(sent.status == 0, "\(sent.stderr)")
                try await waitUntil("the unbound sender's datagram was not handled") {
                    seen.withLock { $0.contains("unbound") }
                }
            }
            #expect(seen.withLock { $0 } == ["silent", "answer", "unbound"])
        }
    }

    @Test func aGracefulShutdownOfItsServiceGroupClosesTheSocketAndRemovesTheFile() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/group.sock"
            let server = DatagramServer(address: try UnixSocketAddress(path)) { _ in nil }
            let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
            let running = Task { try await group.run() }
            try await waitUntil("the server did not bind") { FileManager.default.fileExists(atPath: path) }
            await group.triggerGracefulShutdown()
            try await running.value
            #expect(!FileManager.default.fileExists(atPath: path))
            // a second run is refused: the server ran once
            await #expect(throws: UnixSocketError.self) { try await server.run() }
        }
    }

    @Test func aLiveSocketAtThePathIsLeftAloneAndTheRunThrows() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/taken.sock"
            let first = DatagramServer(address: try UnixSocketAddress(path)) { _ in nil }
            try await withRunning(first, at: path) {
                let second = DatagramServer(address: try UnixSocketAddress(path)) { _ in nil }
                let error = await #expect(throws: UnixSocketError.self) { try await second.run() }
                #expect(error?.code == .serverAlreadyListening)
                #expect(FileManager.default.fileExists(atPath: path))
            }
        }
    }

    /// Runs `server` until `body` returns, then cancels it and checks that it removed its socket file.
    private func withRunning(
        _ server: DatagramServer, at path: String, _ body: () async throws -> Void
    ) async throws {
        let running = Task { try await server.run() }
        do {
            try await waitUntil("the server did not bind \(path)") { FileManager.default.fileExists(atPath: path) }
            try await body()
        } catch {
            running.cancel()
            _ = try? await running.value
            throw error
        }
        running.cancel()
        try await running.value
        #expect(!FileManager.default.fileExists(atPath: path), "the server left its socket file")
    }
}
