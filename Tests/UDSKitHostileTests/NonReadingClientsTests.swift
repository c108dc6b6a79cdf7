import Foundation
import Synchronization
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// 100 clients each send 10 MiB to `uds serve --reply echo` and never read the echo: they stall, and the server
    /// holds a bounded amount for each instead of the 10 MiB they try to push through it.
    @Suite("Clients that never read")
    struct NonReadingClients {
        static let clients = 100
        static let threads = 20
        static let messageSize = 10 * 1024 * 1024
        static let chunkSize = 64 * 1024
        /// The server's peak resident memory must stay under this. By design it holds at most one read (256 KiB) per
        /// stalled client, 25 MiB for 100, over its own 26 MiB (debug build); measured: a peak of 28 to 30 MiB. A
        /// server that buffered what it cannot send would need the 1,000 MiB the clients try to push.
        static let peakBound = 64 * 1024 * sanitizerOverhead  // KiB

        /// One chunk, shared by every client: the clients allocate nothing per message.
        static let chunk = [UInt8](repeating: 0x5A, count: chunkSize)

        final class Stalled: Sendable {
            let connections = Locked<[RawConnection]>([])
            let written = Locked<[Int]>([])
        }

        @Test func theyStallAndTheServerStaysBounded() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/echo.sock"
                let arguments = ["--quiet", "--reply", "echo", "--idle-timeout", "0", "--deadline", "0"]
                try await withServe(path, arguments) { server in
                    try deliverEchoed(path, Array("warm up".utf8))
                    let before = try Memory(of: server.pid)
                    let descriptorsBefore = try await settledDescriptorCount(server.pid)
                    let honest = HonestTraffic { index in try deliverEchoed(path, honestMessage(seed: 7, index: index))
                    }

                    let stalled = Stalled()
                    try await onThreads(Self.threads) { _ in
                        for _ in 0..<Self.clients / Self.threads {
                            let connection = try RawConnection(path)
                            var written = 0
                            // Stalls, as it should: the server stops reading because we do not read.
                            while written < Self.messageSize {
                                let (count, outcome) = connection.write(Self.chunk, timeout: 0.5)
                                written += count
                                if outcome == .timedOut { break }
                                guard outcome == .written else {
                                    throw TestFailure("the server closed a client that does not read")
                                }
                            }
                            stalled.connections.withLock { $0.append(connection) }
                            stalled.written.withLock { $0.append(written) }
                        }
                    }
                    let written = stalled.written.withLock { $0 }
                    #expect(written.count == Self.clients)
                    #expect(written.allSatisfy { $0 < Self.messageSize }, "a client that never reads wrote all 10 MiB")
                    let whileStalled = try Memory(of: server.pid)

                    // Honest clients are served while the stalled ones hang on; so is a large honest message.
                    try deliverEchoed(path, [UInt8](repeating: 0xA5, count: 4 * 1024 * 1024))
                    let report = await honest.stop()
                    #expect(report.failures.isEmpty, "\(report.failures)")
                    #expect(report.served > 0)
                    #expect(server.isRunning)

                    for connection in stalled.connections.withLock({ $0 }) { connection.close() }
                    let after = try Memory(of: server.pid)
                    let most = written.max() ?? 0
                    print(
                        """
                        NonReadingClients: \(Self.clients) clients stalled after writing at most \(most / 1024) KiB each \
                        (\(written.reduce(0, +) / 1024 / 1024) MiB in all); server memory before: \(before); \
                        while stalled: \(whileStalled); after: \(after), peak \(after.peak) KiB; honest exchanges \
                        meanwhile: \(report.served)
                        """)
                    #expect(after.peak < Self.peakBound, "peak resident memory \(after.peak) KiB")
                    let descriptorsAfter = try await settledDescriptorCount(server.pid)
                    #expect(
                        descriptorsAfter <= descriptorsBefore + 1,
                        "descriptors: \(descriptorsBefore) before, \(descriptorsAfter) after")
                    try deliverEchoed(path, Array("still serving".utf8))
                }
            }
        }
    }
}
