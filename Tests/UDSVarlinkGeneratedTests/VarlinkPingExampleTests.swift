import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

/// The example `varlink-ping`, whose server and client are generated from its org.example.ping.varlink: its client
/// against its server, and the reference Python client against its server.
@Suite("Example varlink-ping: generated server and client")
struct VarlinkPingExampleTests {
    static var executable: String { productsDirectory + "/varlink-ping" }

    @Test func itsGeneratedClientCallsItsGeneratedServer() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/ping.sock"
            let server = try ChildProcess(Self.executable, ["unix:" + socket])
            try await waitForServer(at: socket)
            let call = try await ChildProcess.run(Self.executable, ["call", "unix:" + socket, "hello"])
            #expect(call.status == 0, "\(call.stderr)")
            #expect(call.stdout == "pong: hello\ncount: 0 1 2\nnot ready: retry after 1 s\n")

            let python = try requireExecutable("python3")
            let py = try await ChildProcess.run(
                python, ["-m", "varlink.cli", "call", "unix:\(socket)/org.example.ping.Ping", #"{"ping": "py"}"#],
                timeout: 60)
            #expect(py.status == 0, "\(py.stderr)")
            #expect(py.stdout.contains(#""pong": "py""#), "\(py.stdout)")
            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0, "\(server.stderr)")
        }
    }
}
