import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

/// The framed protocol with Go: `uds serve --framed` with the Go framed client (`Peers/goframed/client`: `net.Dial`,
/// `encoding/binary`, a reading goroutine when pipelining), and `uds send --framed` and `FramedClient` with the Go
/// framed echo server (`Peers/goframed/server`: a goroutine per connection). The peers are built for each test.
@Suite("Go framed peers")
struct FramedGoInteropTests {
    /// Builds the Go peer `goframed/<name>` into a temporary directory and runs `body` with its path.
    private func withGoPeer<T>(_ name: String, _ body: (String) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { directory in
            try await body(try await buildGoPeer(package: "goframed/" + name, into: directory))
        }
    }

    /// Runs the Go framed server (echo, or with `ack` the byte counts) for the length of `body`.
    private func withGoServer<T>(ack: Bool = false, _ body: (_ path: String) async throws -> T) async throws -> T {
        try await withGoPeer("server") { server in
            try await withServerProcess(server, { ["-path", $0] + (ack ? ["-ack"] : []) }) { _, path in
                try await body(path)
            }
        }
    }

    // MARK: the Go framed client and `uds serve --framed`

    @Test(arguments: [FramedWorkload.pingPong, .pipelined])
    func goClientGetsEveryFrameBackFromUDSServeEcho(workload: FramedWorkload) async throws {
        try await withGoPeer("client") { client in
            try await withUDSServe(["--framed", "--quiet", "--reply", "echo"]) { _, path in
                let output = try await runSucceeding(client, ["--path", path] + workload.arguments, timeout: 180)
                #expect(output == workload.echoSummary)
            }
        }
    }

    @Test func goClientGetsByteCountsFromUDSServeWhichPrintsEveryFrame() async throws {
        let sizes = [0, 1, 9, 100, 5000]
        let frames = (0..<200).map { framedTextFrame($0, size: sizes[$0 % sizes.count]) }
        try await withGoPeer("client") { client in
            try await withUDSServe(["--framed"]) { server, path in
                let output = try await runSucceeding(
                    client,
                    [
                        "--path", path, "--mode", "pipelined", "--count", "200", "--text", "--sizes", "0,1,9,100,5000",
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
    }

    // MARK: `uds send --framed` and FramedClient with the Go framed server

    @Test func udsSendFramedExpectingAnyPrintsEachEchoFromGoServer() async throws {
        try await withGoServer { path in
            let output = try await runSucceeding(
                udsExecutable, ["send", "--framed", "--expect", "any", path, "a", "bb", "ccc"])
            #expect(output == "a\nbb\nccc\n")
        }
    }

    @Test func udsSendFramedIsAcknowledgedByGoServer() async throws {
        try await withGoServer(ack: true) { path in
            let output = try await runSucceeding(udsExecutable, ["send", "--framed", path, "one", "two", "three"])
            #expect(output == "3\n3\n5\n")
        }
    }

    @Test func framedClientRequestsFromSixteenTasksGetTheirOwnEchoesFromGoServer() async throws {
        try await withGoServer { path in
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

/// Request `request` of task `task` in the sixteen-task tests: its own name, padded to a size from 0 to about 5 KB,
/// and 1 MiB for the first request of task 0.
func sixteenTasksRequest(task: Int, request: Int) -> String {
    let name = "task \(task) request \(request) "
    let padding = task == 0 && request == 0 ? 1 << 20 : (task * 50 + request) * 37 % 5000
    return name + String(repeating: "x", count: padding)
}
