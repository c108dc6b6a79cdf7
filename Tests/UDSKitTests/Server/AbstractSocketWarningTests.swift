import Foundation
import Logging
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// `allowsUnprotectedAbstractSocket` lets a server admit anyone on an abstract name; it says so once, at
    /// `warning`, naming the socket.
    @Suite struct AbstractSocketWarningTests {
        /// Keeps every line logged through it.
        struct RecordingLogHandler: LogHandler {
            let lines: Locked<[(level: Logger.Level, message: String)]>
            var logLevel: Logger.Level = .trace
            var metadata: Logger.Metadata = [:]

            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }

            func log(event: LogEvent) {
                lines.withLock { $0.append((event.level, "\(event.message)")) }
            }
        }

        static func warnings(policy: AuthorizationPolicy) async throws -> [String] {
            let name = "@uds-warning-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
            let lines = Locked<[(level: Logger.Level, message: String)]>([])
            var configuration = MessageServer.Configuration()
            configuration.authorization = policy
            configuration.allowsUnprotectedAbstractSocket = true
            let server = MessageServer(
                address: try UnixSocketAddress(name), configuration: configuration,
                logger: Logger(label: "test") { _ in RecordingLogHandler(lines: lines) }, handler: .acknowledge)
            try await server.start()
            await server.shutdown()
            return lines.withLock { $0.filter { $0.level == .warning }.map(\.message) }
                .map { $0.replacingOccurrences(of: name, with: "@NAME") }
        }

        @Test func anAdmitAnyonePolicyOnAnAbstractNameLogsAWarning() async throws {
            let warnings = try await Self.warnings(policy: .anyone)
            #expect(
                warnings == [
                    "anyone in the network namespace can connect to @NAME: an abstract name has no file permissions, and the authorization policy admits anyone"
                ])
        }

        @Test func aPolicyThatChecksPeersLogsNoWarning() async throws {
            #expect(try await Self.warnings(policy: .sameUser).isEmpty)
        }
    }
}
