import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// A stop signal the moment the server accepts its first client, as a supervisor or a test sends it: the server
    /// must stop gracefully (exit 0, socket file removed), never die of the signal and leave its socket file behind.
    /// (Before aa2cb97, `uds serve` listened before it handled SIGTERM, and most of these attempts killed it.)
    @Suite("Stop signal right after start")
    struct StopSignal {
        static let attempts = 20

        @Test func sigtermAsSoonAsTheServerAcceptsIsAGracefulStop() async throws {
            var outcomes: [String] = []
            try await withTemporaryDirectory { dir in
                for attempt in 0..<Self.attempts {
                    let path = dir + "/s\(attempt).sock"
                    let server = try ChildProcess(udsExecutable, ["serve", path, "--quiet"])
                    try await waitForServer(at: path)
                    server.signal(SIGTERM)
                    try await server.waitForExit(timeout: 30)
                    let left = FileManager.default.fileExists(atPath: path)
                    if server.termination != .exited(0) || left {
                        let how = server.termination.map { "\($0)" } ?? "running"
                        outcomes.append("attempt \(attempt): \(how), socket file left: \(left)")
                    }
                }
            }
            #expect(
                outcomes.isEmpty, "\(outcomes.count) of \(Self.attempts) stops were not graceful: \(outcomes.prefix(3))"
            )
        }
    }
}
