import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

/// `uds serve` on SIGTERM: stops accepting, lets the message in flight finish, removes its file, exits 0.
@Suite struct SignalShutdownTests {
    @Test func sigtermLetsTheMessageInFlightFinish() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/app.sock"
            let server = try ChildProcess(udsExecutable, ["serve", path, "--quiet", "--exec", "sleep 1; wc -c"])
            defer { server.signal(SIGKILL) }
            try await waitForServer(at: path)
            // waitForServer's connection is an empty message, and it runs the command too: let that run start and
            // end first, so that the next command the server runs is the one for our message.
            try await waitUntil("the server runs the command for the readiness probe") {
                !childProcessIDs(of: server.pid).isEmpty
            }
            try await waitUntil("the readiness probe's command has finished") { childProcessIDs(of: server.pid).isEmpty }

            let send = try ChildProcess(udsExecutable, ["send", path, "hello", "--expect", "any", "--timeout", "60"])
            defer { send.signal(SIGKILL) }
            try await waitUntil("the server runs the command for the message") {
                !childProcessIDs(of: server.pid).isEmpty
            }
            server.signal(SIGTERM)

            #expect(try await send.waitForExit(timeout: 60) == 0, "stderr: \(send.stderr)")
            #expect(send.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5", "stderr: \(send.stderr); server: \(server.stderr)")
            #expect(try await server.waitForExit(timeout: 60) == 0, "stderr: \(server.stderr)")
            #expect(!fileExists(path))
        }
    }

    @Test func sigtermStopsAnIdleServerAndRemovesItsFile() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/app.sock"
            let server = try ChildProcess(udsExecutable, ["serve", path, "--quiet"])
            defer { server.signal(SIGKILL) }
            try await waitForServer(at: path)
            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0, "stderr: \(server.stderr)")
            #expect(!fileExists(path))
        }
    }
}
