import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// `uds serve` on SIGTERM: stops accepting, lets the message in flight finish, removes its file, exits 0.
    @Suite struct SignalShutdownTests {
        @Test func sigtermLetsTheMessageInFlightFinish() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let marker = directory + "/in-flight"
                // The command counts its input, says so with a marker file when there was any (waitForServer's own
                // connection is an empty message and runs the command too), waits a second, and replies with the count.
                let command = "n=$(wc -c); [ \"$n\" -gt 0 ] && touch \(marker); sleep 1; echo $n"
                let server = try ChildProcess(udsExecutable, ["serve", path, "--quiet", "--exec", command])
                defer { server.signal(SIGKILL) }
                try await waitForServer(at: path)

                let send = try ChildProcess(
                    udsExecutable, ["send", path, "hello", "--expect", "any", "--timeout", "60"])
                defer { send.signal(SIGKILL) }
                try await waitUntil("the server runs the command for the message; server: \(server.stderr)") {
                    fileExists(marker)
                }
                server.signal(SIGTERM)

                #expect(try await send.waitForExit(timeout: 60) == 0, "send: \(send.stderr); server: \(server.stderr)")
                #expect(send.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5", "server: \(server.stderr)")
                #expect(try await server.waitForExit(timeout: 60) == 0, "server: \(server.stderr)")
                #expect(!fileExists(path))
            }
        }

        /// A service manager may stop a server the moment its socket answers. Thirty rounds, so that a window between
        /// accepting and handling SIGTERM shows.
        @Test func sigtermAsSoonAsTheSocketAnswersStopsTheServerCleanly() async throws {
            try await withTemporaryDirectory { directory in
                for round in 0..<30 {
                    let path = directory + "/app-\(round).sock"
                    let server = try ChildProcess(udsExecutable, ["serve", path, "--quiet"])
                    defer { server.signal(SIGKILL) }
                    try await waitForServer(at: path)
                    server.signal(SIGTERM)
                    try await server.waitForExit()
                    #expect(
                        server.termination == .exited(0),
                        "round \(round): \(String(describing: server.termination)); stderr: \(server.stderr)")
                    #expect(!fileExists(path), "round \(round): the socket file was left behind")
                }
            }
        }
    }
}
