import Foundation
import Synchronization
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// 20,000 connections that close at once without a byte, from 4 threads, against `uds serve` and
    /// `uds serve --framed`: the server stays up, honest clients are served, and it leaks no descriptor.
    @Suite("Connect-and-close storms")
    struct ConnectCloseStorm {
        static let storm = 20_000
        static let threads = 4
        /// Descriptors the server may hold beyond its count before the storm, once its count has settled.
        static let slack = 1

        enum Server: String, CaseIterable, CustomStringConvertible, Sendable {
            case endOfStream, framed

            var arguments: [String] { self == .framed ? ["--quiet", "--framed"] : ["--quiet"] }

            /// One honest round: a message acknowledged exactly, or five frames on one connection.
            func honestRound(_ path: String, _ index: Int) throws {
                switch self {
                case .endOfStream:
                    try deliverAcknowledged(path, honestMessage(seed: 6, index: index))
                case .framed:
                    let client = try FramedHonestClient(path)
                    for frame in 0..<5 {
                        let payload = honestMessage(seed: index, index: frame)
                        let reply = try client.request(payload)
                        guard reply == Array("\(payload.count)\n".utf8) else {
                            throw TestFailure("frame \(frame): \(reply)")
                        }
                    }
                }
            }

            var description: String { rawValue }
        }

        @Test(arguments: Server.allCases)
        func theServerSurvivesWithoutLeakingDescriptors(_ kind: Server) async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/storm.sock"
                try await withServe(path, kind.arguments) { server in
                    try kind.honestRound(path, 0)
                    let before = try await settledDescriptorCount(server.pid)
                    let honest = HonestTraffic { index in try kind.honestRound(path, index) }

                    let failures = Locked<[String]>([])
                    try await onThreads(Self.threads) { _ in
                        let address = try UnixSocketAddress(path)
                        for _ in 0..<Self.storm / Self.threads {
                            do {
                                try UnixSocketConnection.connect(to: address, timeout: .seconds(60)).close()
                            } catch {
                                failures.withLock { if $0.count < 10 { $0.append("\(error)") } }
                            }
                        }
                    }
                    #expect(failures.withLock { $0 }.isEmpty, "connects failed: \(failures.withLock { $0 })")
                    let report = await honest.stop()
                    #expect(report.failures.isEmpty, "\(report.failures)")
                    #expect(report.served > 0)
                    #expect(server.isRunning, "the server died: \(server.stderr)")

                    let after = try await settledDescriptorCount(server.pid)
                    print(
                        "ConnectCloseStorm \(kind): server descriptors before \(before), after \(after); honest rounds \(report.served)"
                    )
                    #expect(
                        after <= before + Self.slack,
                        "the server holds \(after) descriptors after the storm, \(before) before")
                    try kind.honestRound(path, 1)
                }
            }
        }
    }
}
