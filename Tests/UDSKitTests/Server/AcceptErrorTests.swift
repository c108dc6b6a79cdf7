import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// Running out of descriptors makes accept fail for a while; the server pauses, logs it, and goes on.
    @Suite struct AcceptErrorTests {
        @Test func acceptErrorsUnderALowDescriptorLimitDoNotStopTheServer() async throws {
            let prlimit = try requireExecutable("prlimit")
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let server = try ChildProcess(
                    prlimit, ["--nofile=64:64", "--", udsExecutable, "serve", path, "--quiet"])
                defer { server.signal(SIGKILL) }
                try await waitForServer(at: path)

                // More connections than the server has descriptors: it accepts until EMFILE, the rest wait in the
                // backlog.
                let address = try UnixSocketAddress(path)
                var held = try await onThread {
                    try (0..<100).map { _ in try UnixSocketConnection.connect(to: address, timeout: .seconds(30)) }
                }
                try await waitUntil("the server logs that accept failed; stderr: \(server.stderr)") {
                    server.stderr.contains("accept failed")
                }
                #expect(server.isRunning)

                for connection in held { connection.close() }
                held.removeAll()

                let client = try makeClient(path)
                for index in 0..<20 {
                    let message = Message(bytes: payload(index * 1000, seed: index))
                    #expect(try await client.deliver(message) == message.count)
                }
                #expect(server.isRunning)

                server.signal(SIGTERM)
                #expect(try await server.waitForExit() == 0, "stderr: \(server.stderr)")
                #expect(!fileExists(path))
            }
        }
    }
}
