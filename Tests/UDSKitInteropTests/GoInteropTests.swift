import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

/// `uds serve` with the classic Go client (`Peers/go/client.go`), and `uds send` and `MessageClient` with the classic
/// Go server (`Peers/go/server.go`). The peers are built with `go build` for each test.
@Suite("Go peers")
struct GoInteropTests {
    /// Builds the Go peer `name` into a temporary directory and runs `body` with its path.
    private func withGoPeer<T>(_ name: String, _ body: (String) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { directory in
            try await body(try await buildGoPeer(name, into: directory))
        }
    }

    // MARK: the Go client and `uds serve`

    @Test func goClientThatOnlyClosesHasItsMessagePrinted() async throws {
        try await withGoPeer("client") { client in
            try await withUDSServe { server, path in
                let message = "fire and forget from Go"
                let reply = try await runSucceeding(client, ["-path", path, "-mode", "close", "-message", message])
                #expect(reply == "")
                try await waitUntil("uds serve never printed the message; stdout: \(server.stdout.debugDescription)") {
                    server.stdout.contains(message + "\n")
                }
            }
        }
    }

    @Test func goClientThatHalfClosesGetsTheByteCount() async throws {
        try await withGoPeer("client") { client in
            try await withUDSServe { server, path in
                let message = "hello from Go, half-closed"
                let reply = try await runSucceeding(client, ["-path", path, "-mode", "reply", "-message", message])
                #expect(reply == "\(message.utf8.count)\n")
                #expect(server.stdout.contains(message + "\n"))
            }
        }
    }

    @Test(arguments: [false, true])
    func goClientMessageFromStandardInputIsAcknowledged(quiet: Bool) async throws {
        let message = patternBytes(3 * 1024 * 1024)
        try await withGoPeer("client") { client in
            try await withUDSServe(quiet ? ["--quiet"] : []) { _, path in
                let reply = try await runSucceeding(client, ["-path", path], stdin: message)
                #expect(reply == "\(message.count)\n")
            }
        }
    }

    // MARK: `uds send` and MessageClient with the Go server

    @Test func udsSendIsAcknowledgedByGoServer() async throws {
        try await withGoPeer("server") { server in
            try await withServerProcess(server, { ["-path", $0] }) { _, path in
                let output = try await runSucceeding(udsExecutable, ["send", path, "hello"])
                #expect(output == "5\n")
            }
        }
    }

    @Test func udsSendFileOfFiveMebibytesIsAcknowledgedByGoServer() async throws {
        try await withGoPeer("server") { server in
            try await withServerProcess(server, { ["-path", $0] }) { _, path in
                try await withTemporaryDirectory { directory in
                    let file = directory + "/message.bin"
                    try patternBytes(5 * 1024 * 1024).write(to: URL(fileURLWithPath: file))
                    let output = try await runSucceeding(udsExecutable, ["send", path, "--file", file])
                    #expect(output == "\(5 * 1024 * 1024)\n")
                }
            }
        }
    }

    @Test func messageClientDeliversToGoServer() async throws {
        try await withGoPeer("server") { server in
            try await withServerProcess(server, { ["-path", $0] }) { _, path in
                let client = try MessageClient(path: path)
                #expect(try await client.deliver("hello, Go") == 9)
                let large = Message(bytes: patternBytes(2 * 1024 * 1024))
                #expect(try await client.deliver(large) == large.count)
                #expect(try await client.send("four").string == "4\n")
            }
        }
    }

    @Test func udsSendExpectingAnyReplyPrintsGoServerEcho() async throws {
        try await withGoPeer("server") { server in
            try await withServerProcess(server, { ["-path", $0, "-echo"] }) { _, path in
                let output = try await runSucceeding(udsExecutable, ["send", "--expect", "any", path, "hello, echo"])
                #expect(output == "hello, echo")
                let client = try MessageClient(path: path)
                #expect(try await client.send("echo from MessageClient").string == "echo from MessageClient")
            }
        }
    }

    @Test func udsSendExpectingAnAcknowledgementFailsOnGoServerEcho() async throws {
        try await withGoPeer("server") { server in
            try await withServerProcess(server, { ["-path", $0, "-echo"] }) { _, path in
                let result = try await ChildProcess.run(udsExecutable, ["send", path, "hello"])
                #expect(result.status == 2, "stderr: \(result.stderr)")
            }
        }
    }
}
