import Foundation
import Testing
import UDSKit
import UDSKitTestSupport
import UDSVarlink

/// Interop with Go's varlink implementation (github.com/varlink/go from Debian's golang-github-varlink-go-dev, which
/// Scripts/install-test-peers.sh installs): the Go peer `Peers/govarlink` as a client of `varlink-ping`, and as a
/// server for ``VarlinkClient`` and `uds varlink call`.
@Suite("Varlink interop with Go's implementation")
struct VarlinkGoInteropTests {
    @Test func goClientTalksToOurServer() async throws {
        let peer = try await buildGoVarlinkPeer()
        try await withVarlinkPingServer { address in
            let result = try await ChildProcess.run(peer, ["client", "-address", address], timeout: 60)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stdout == """
                    info: UDSKit varlink-ping [org.varlink.service org.example.ping]
                    description: 177 bytes
                    pong: from go
                    count: [0 1 2 3 4]
                    pipelined: 100
                    error: org.example.ping.Nope
                    invalid: ping

                    """)
        }
    }

    @Test func ourClientTalksToTheGoServer() async throws {
        let peer = try await buildGoVarlinkPeer()
        try await withTemporaryDirectory { directory in
            let socket = directory + "/go.sock"
            let server = try ChildProcess(peer, ["server", "-address", "unix:" + socket])
            do {
                try await waitForServer(at: socket)
            } catch {
                throw TestFailure("the Go varlink server did not start: \(server.stderr)")
            }
            let client = try await VarlinkClient.connect(to: try VarlinkAddress("unix:" + socket))
            let info = try await client.call("org.varlink.service.GetInfo", parameters: nil)
            #expect(info["interfaces"] == ["org.varlink.service", "org.example.ping"])
            #expect(try await client.call("org.example.ping.Ping", Ping(ping: "to go"), as: Pong.self).pong == "to go")
            var numbers: [Int] = []
            for try await reply in client.callMore("org.example.ping.Count", Count(count: 4), as: Number.self) {
                numbers.append(reply.number)
            }
            #expect(numbers == [0, 1, 2, 3])
            // Pipelined from many tasks on one connection.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let pong = try await client.call("org.example.ping.Ping", Ping(ping: "\(index)"), as: Pong.self)
                        #expect(pong.pong == "\(index)")
                    }
                }
                try await group.waitForAll()
            }
            await #expect(throws: VarlinkError.methodNotFound("Nope")) {
                try await client.call("org.example.ping.Nope", parameters: [:])
            }
            await client.close()

            let call = try await ChildProcess.run(
                udsExecutable,
                ["varlink", "call", "unix:" + socket, "org.example.ping.Count", #"{"count":2}"#, "--more"])
            #expect(call.status == 0, "\(call.stderr)")
            #expect(call.stdout == #"{"number":0}"# + "\n" + #"{"number":1}"# + "\n")
            let interface = try await ChildProcess.run(
                udsExecutable, ["varlink", "interface", "unix:" + socket, "org.example.ping"])
            #expect(interface.stdout.contains("method Ping(ping: string) -> (pong: string)"))
            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0, "\(server.stderr)")
        }
    }
}

/// Runs the example service `varlink-ping` on a fresh socket for the length of `body`, with its `unix:` address.
func withVarlinkPingServer<T>(_ body: (String) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        let socket = directory + "/ping.sock"
        let server = try ChildProcess(productsDirectory + "/varlink-ping", ["unix:" + socket])
        try await waitForServer(at: socket)
        let result = try await body("unix:" + socket)
        server.signal(SIGTERM)
        let status = try await server.waitForExit()
        guard status == 0 else { throw TestFailure("varlink-ping exited \(status): \(server.stderr)") }
        return result
    }
}

/// Builds `Peers/govarlink` with `go build` in GOPATH mode, which finds Debian's github.com/varlink/go in
/// /usr/share/gocode, and returns the executable's path (shared by the tests of one run).
func buildGoVarlinkPeer() async throws -> String {
    let go = try requireExecutable("go")
    guard FileManager.default.fileExists(atPath: "/usr/share/gocode/src/github.com/varlink/go/varlink") else {
        throw TestFailure(
            "github.com/varlink/go is missing: apt-get install golang-github-varlink-go-dev (Scripts/install-test-peers.sh)"
        )
    }
    let output = NSTemporaryDirectory() + "/udskit-govarlink-\(getpid())"
    if FileManager.default.isExecutableFile(atPath: output) { return output }
    let staging = UUID().uuidString
    let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Peers/govarlink")
        .path
    let build = try ChildProcess(
        go, ["build", "-o", output + ".\(staging)", "."],
        environment: [
            "GO111MODULE": "off", "GOPATH": NSTemporaryDirectory() + "/udskit-gopath:/usr/share/gocode",
            "GOCACHE": NSTemporaryDirectory() + "/udskit-interop-gocache", "GOFLAGS": "",
        ],
        currentDirectory: source)
    let status = try await build.waitForExit(timeout: 300)
    guard status == 0 else { throw TestFailure("go build Peers/govarlink failed: \(build.stderr)") }
    // Renamed into place, so that concurrent tests never run a half-written file.
    _ = rename(output + ".\(staging)", output)
    return output
}
