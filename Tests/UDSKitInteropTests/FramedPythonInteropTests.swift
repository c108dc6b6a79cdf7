import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

/// The framed protocol with Python: `uds serve --framed` and an in-process framed `MessageServer` with the Python
/// framed client (`Peers/python/framed_client.py`: `struct.pack('>I', n)`, `sendall`, a reading thread when
/// pipelining), and `uds send --framed` and `FramedClient` with the Python framed echo server
/// (`Peers/python/framed_server.py`: a thread per connection).
@Suite("Python framed peers")
struct FramedPythonInteropTests {
    /// Runs the Python framed server (echo, or with `ack` the byte counts) for the length of `body`.
    /// With `pieces`, the server writes each reply that many bytes at a time.
    private func withPythonServer<T>(
        ack: Bool = false, pieces: Int? = nil, _ body: (_ path: String) async throws -> T
    ) async throws -> T {
        let (python, server) = try pythonPeer("framed_server")
        let options = (ack ? ["--ack"] : []) + (pieces.map { ["--pieces", "\($0)"] } ?? [])
        return try await withServerProcess(python, { [server, "--path", $0] + options }) { _, path in
            try await body(path)
        }
    }

    // MARK: the Python framed client and `uds serve --framed`

    @Test(arguments: [FramedWorkload.pingPong, .pipelined])
    func pythonClientGetsEveryFrameBackFromUDSServeEcho(workload: FramedWorkload) async throws {
        let (python, client) = try pythonPeer("framed_client")
        try await withUDSServe(["--framed", "--quiet", "--reply", "echo"]) { _, path in
            let output = try await runSucceeding(python, [client, "--path", path] + workload.arguments, timeout: 180)
            #expect(output == workload.echoSummary)
        }
    }

    @Test(arguments: ["pingpong", "pipelined"])
    func pythonClientGetsByteCountsFromUDSServeWhichPrintsEveryFrame(mode: String) async throws {
        let (python, client) = try pythonPeer("framed_client")
        let sizes = [0, 1, 9, 100, 5000]
        let frames = (0..<200).map { framedTextFrame($0, size: sizes[$0 % sizes.count]) }
        try await withUDSServe(["--framed"]) { server, path in
            let output = try await runSucceeding(
                python,
                [
                    client, "--path", path, "--mode", mode, "--count", "200", "--text", "--sizes", "0,1,9,100,5000",
                    "--expect", "ack", "--print",
                ],
                timeout: 120)
            #expect(output == frames.map { "\($0.utf8.count)\n\n" }.joined())
            // an empty frame prints nothing; every other frame is printed with a newline, in order
            let printed = frames.filter { !$0.isEmpty }.map { $0 + "\n" }.joined()
            try await waitUntil("uds serve printed \(server.stdout.utf8.count) of \(printed.utf8.count) bytes") {
                server.stdout.utf8.count >= printed.utf8.count
            }
            #expect(server.stdout == printed)
        }
    }

    // MARK: an in-process framed MessageServer and the Python framed client

    @Test func requestsHandlerAnswersAThousandPipelinedPythonRequestsInOrder() async throws {
        let (python, client) = try pythonPeer("framed_client")
        let handler = FramedHandler.requests { request, _ in
            // some requests suspend, so that a reply that overtook another would show (the delay is the behaviour
            // under test, not a wait)
            if request.count % 3 == 0 { try await Task.sleep(for: .microseconds(200)) }
            return Message("reply to " + request.string)
        }
        try await withTemporaryDirectory { directory in
            let path = directory + "/framed.sock"
            try await withRunningServer(at: path, framedHandler: handler) { _ in
                let output = try await runSucceeding(
                    python, [client, "--path", path, "--mode", "pipelined", "--count", "1000", "--text", "--print"],
                    timeout: 120)
                let lines = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                #expect(lines.count == 1000)
                for (index, line) in lines.enumerated() where line != "reply to frame \(index)" {
                    Issue.record("reply \(index) is \(line.debugDescription)")
                    break
                }
            }
        }
    }

    // MARK: bad frames from Python

    /// A frame past `--max-size`, or a stream that ends inside a frame, closes that connection only; uds serve logs
    /// one line naming the peer's pid. Both with the built-in acknowledgement (`--quiet`) and with a handler that
    /// prints.
    @Test(arguments: ["oversize", "truncated"], [true, false])
    func badFrameFromPythonClosesOnlyItsConnectionAndIsLoggedWithThePeerPID(kind: String, quiet: Bool) async throws {
        let (python, client) = try pythonPeer("framed_client")
        try await withUDSServe(["--framed", "--max-size", "1000"] + (quiet ? ["--quiet"] : [])) { server, path in
            let output = try await runSucceeding(
                python, [client, "--path", path, "--bad", kind, "--max-size", "1000", "--expect", "ack"])
            let lines = output.split(separator: "\n").map(String.init)
            try #require(lines.count == 3, "client output: \(output.debugDescription)")
            let pid = try #require(lines[0].hasPrefix("pid ") ? Int32(lines[0].dropFirst(4)) : nil, "\(lines[0])")
            #expect(lines[1] == "bad: eof", "the server closes the bad connection")
            #expect(lines[2] == "good: ok", "the other connection keeps working")

            try await waitUntil("uds serve never logged peer_pid=\(pid); stderr: \(server.stderr)") {
                server.stderr.contains("peer_pid=\(pid)")
            }
            let logged = server.stderr.split(separator: "\n").filter { $0.contains("peer_pid=\(pid)") }
            #expect(logged.count == 1, "stderr: \(server.stderr)")
            let about = kind == "oversize" ? "exceeds the limit of 1000 bytes" : "inside a frame"
            #expect(logged.first?.contains(about) == true, "stderr: \(server.stderr)")
            #expect(
                server.stderr.split(separator: "\n").filter { $0.contains("warning") }.count == 1,
                "stderr: \(server.stderr)")
        }
    }

    // MARK: `uds send --framed` and FramedClient with the Python framed server

    /// `FramedClient.requests` writes a batch's frames back to back in one write; Python's thread reads them one at a
    /// time and answers each, and the replies come back in order, byte for byte, while single requests from other
    /// tasks are matched to their own replies in between.
    @Test func batchesOfRequestsToThePythonEchoServerComeBackInOrder() async throws {
        try await withPythonServer { path in
            let client = try await FramedClient.connect(to: UnixSocketAddress(path))
            defer { client.close() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<4 {
                    group.addTask {
                        for batch in 0..<5 {
                            let sizes = [0, 1, 64, 5000, 20_000]
                            let messages = FrameBatch(
                                (0..<100).map { index in
                                    let byte = UInt8((task * 31 + batch * 7 + index) % 251)
                                    return Message(bytes: repeatElement(byte, count: sizes[index % sizes.count]))
                                })
                            let replies = try await client.requests(messages)
                            #expect(replies == messages, "task \(task) batch \(batch)")
                        }
                    }
                    group.addTask {
                        for request in 0..<50 {
                            let text = "task \(task) single \(request)"
                            let reply = try await client.request(Message(text))
                            #expect(reply.string == text)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// The server writes its replies three bytes at a time, so the client's reads end inside headers and payloads
    /// alike: a batch's replies, taken in runs of whole frames where a read holds them, come back whole and in order.
    @Test func batchesComeBackWholeWhenThePythonServerWritesRepliesInPieces() async throws {
        try await withPythonServer(pieces: 3) { path in
            let client = try await FramedClient.connect(to: UnixSocketAddress(path))
            defer { client.close() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<2 {
                    group.addTask {
                        for batch in 0..<2 {
                            let sizes = [0, 1, 3, 4, 5, 9, 70]
                            let messages = FrameBatch(
                                (0..<60).map { index in
                                    let byte = UInt8((task * 31 + batch * 7 + index) % 251)
                                    return Message(bytes: repeatElement(byte, count: sizes[index % sizes.count]))
                                })
                            let replies = try await client.requests(messages)
                            #expect(replies == messages, "task \(task) batch \(batch)")
                            #expect(replies.map(\.count) == messages.map(\.count), "task \(task) batch \(batch)")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func udsSendFramedExpectingAnyPrintsEachEchoFromPythonServer() async throws {
        try await withPythonServer { path in
            let output = try await runSucceeding(
                udsExecutable, ["send", "--framed", "--expect", "any", path, "a", "bb", "ccc"])
            #expect(output == "a\nbb\nccc\n")
        }
    }

    @Test func udsSendFramedIsAcknowledgedByPythonServer() async throws {
        try await withPythonServer(ack: true) { path in
            let output = try await runSucceeding(udsExecutable, ["send", "--framed", path, "one", "two", "three"])
            #expect(output == "3\n3\n5\n")
        }
    }

    @Test func framedClientRequestsFromSixteenTasksGetTheirOwnEchoesFromPythonServer() async throws {
        try await withPythonServer { path in
            let client = try await FramedClient.connect(to: UnixSocketAddress(path))
            defer { client.close() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<16 {
                    group.addTask {
                        for request in 0..<50 {
                            let text = sixteenTasksRequest(task: task, request: request)
                            let reply = try await client.request(Message(text))
                            #expect(reply.count == text.utf8.count, "task \(task) request \(request)")
                            #expect(reply.string == text, "task \(task) request \(request)")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
