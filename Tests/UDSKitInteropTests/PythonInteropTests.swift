import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

/// `uds serve` and an in-process `MessageServer` with the Python client (`Peers/python/client.py`: `sendall`,
/// `shutdown(SHUT_WR)`, a `recv` loop), and `uds send` and `MessageClient` with the Python server
/// (`Peers/python/server.py`: a thread per connection).
@Suite("Python peers")
struct PythonInteropTests {
    /// What the in-process server answers.
    enum Reply: String, CaseIterable {
        case acknowledge, echo
        var handler: MessageHandler { self == .acknowledge ? .acknowledge : .echo }
    }

    /// One line of the client's `--connections` output.
    struct ConnectionResult: Decodable {
        var sent: Int
        var reply: String?
        var error: String?
    }

    // MARK: the Python client and `uds serve`

    @Test func pythonClientGetsTheByteCountFromUDSServe() async throws {
        let (python, client) = try pythonPeer("client")
        try await withUDSServe { server, path in
            let message = "hello from Python"
            let reply = try await runSucceeding(python, [client, "--path", path, "--message", message])
            #expect(reply == "\(message.utf8.count)\n")
            #expect(server.stdout.contains(message + "\n"))
        }
    }

    @Test(arguments: [false, true])
    func tenMebibyteMessageFromPythonIsAcknowledged(quiet: Bool) async throws {
        let (python, client) = try pythonPeer("client")
        let size = 10 * 1024 * 1024
        try await withUDSServe(quiet ? ["--quiet"] : []) { _, path in
            let reply = try await runSucceeding(python, [client, "--path", path, "--size", "\(size)"])
            #expect(reply == "\(size)\n")
        }
    }

    /// `--max-size 100`: 100 bytes are acknowledged; past that the Python client, whose write may fail with EPIPE
    /// once the server has closed, still reads an error reply.
    @Test(arguments: [false, true], [100, 101, 10_000, 1024 * 1024])
    func messagePastMaxSizeGetsErrorReplyThatPythonClientReads(quiet: Bool, size: Int) async throws {
        let (python, client) = try pythonPeer("client")
        try await withUDSServe(["--max-size", "100"] + (quiet ? ["--quiet"] : [])) { _, path in
            let reply = try await runSucceeding(python, [client, "--path", path, "--size", "\(size)"])
            if size <= 100 {
                #expect(reply == "\(size)\n")
            } else {
                #expect(reply.hasPrefix("error: "), "reply to \(size) bytes: \(reply.debugDescription)")
                #expect(reply.hasSuffix("\n"))
            }
        }
    }

    // MARK: an in-process MessageServer and many Python clients at once

    @Test(arguments: Reply.allCases)
    func inProcessServerAnswersTwoHundredConcurrentPythonClients(reply: Reply) async throws {
        let (python, client) = try pythonPeer("client")
        let message = "python "
        try await withTemporaryDirectory { directory in
            let path = directory + "/server.sock"
            try await withRunningServer(at: path, handler: reply.handler) { _ in
                let output = try await runSucceeding(
                    python, [client, "--path", path, "--message", message, "--connections", "200"], timeout: 120)
                let lines = output.split(separator: "\n")
                #expect(lines.count == 200)
                for (index, line) in lines.enumerated() {
                    let result = try JSONDecoder().decode(ConnectionResult.self, from: Data(line.utf8))
                    let sent = String(repeating: message, count: index + 1)
                    #expect(result.error == nil, "connection \(index)")
                    #expect(result.sent == sent.utf8.count)
                    switch reply {
                    case .acknowledge: #expect(result.reply == "\(sent.utf8.count)\n", "connection \(index)")
                    case .echo: #expect(result.reply == sent, "connection \(index)")
                    }
                }
            }
        }
    }

    // MARK: `uds send` and MessageClient with the Python server

    @Test func udsSendIsAcknowledgedByPythonServer() async throws {
        let (python, server) = try pythonPeer("server")
        try await withServerProcess(python, { [server, "--path", $0] }) { _, path in
            let output = try await runSucceeding(udsExecutable, ["send", path, "hello"])
            #expect(output == "5\n")
        }
    }

    @Test func udsSendFileOfFiveMebibytesIsAcknowledgedByPythonServer() async throws {
        let (python, server) = try pythonPeer("server")
        try await withServerProcess(python, { [server, "--path", $0] }) { _, path in
            try await withTemporaryDirectory { directory in
                let file = directory + "/message.bin"
                try patternBytes(5 * 1024 * 1024).write(to: URL(fileURLWithPath: file))
                let output = try await runSucceeding(udsExecutable, ["send", path, "--file", file])
                #expect(output == "\(5 * 1024 * 1024)\n")
            }
        }
    }

    @Test func messageClientDeliversToPythonServer() async throws {
        let (python, server) = try pythonPeer("server")
        try await withServerProcess(python, { [server, "--path", $0] }) { _, path in
            let client = try MessageClient(path: path)
            #expect(try await client.deliver("hello, Python") == 13)
            let large = Message(bytes: patternBytes(2 * 1024 * 1024))
            #expect(try await client.deliver(large) == large.count)
            #expect(try await client.send("four").string == "4\n")
        }
    }

    @Test func udsSendExpectingAnyReplyPrintsPythonServerEcho() async throws {
        let (python, server) = try pythonPeer("server")
        try await withServerProcess(python, { [server, "--path", $0, "--echo"] }) { _, path in
            let output = try await runSucceeding(udsExecutable, ["send", "--expect", "any", path, "hello, echo"])
            #expect(output == "hello, echo")
            try await withTemporaryDirectory { directory in
                let file = directory + "/message.txt"
                let text = String(repeating: "a line of text echoed by Python\n", count: 32 * 1024)
                try Data(text.utf8).write(to: URL(fileURLWithPath: file))
                let echoed = try await runSucceeding(udsExecutable, ["send", "--expect", "any", path, "--file", file])
                #expect(echoed == text)
            }
        }
    }
}
