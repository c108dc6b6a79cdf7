import Foundation
import Synchronization
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// 5,000 connections that never send a byte, against `uds serve --max-connections 10000 --idle-timeout 2`.
    @Suite("Connections that never send")
    struct IdleConnections {
        static let idleCount = 5000
        /// The server's peak resident memory must stay under this. Measured (debug build, Linux x86_64): 26 MiB
        /// before the idle connections, a peak of 28 to 29 MiB with all 5,000 open, so well under 1 KiB each; the
        /// bound leaves room for allocator noise and a loaded machine, not for memory that grows per connection.
        static let peakBound = 64 * 1024 * sanitizerOverhead  // KiB

        /// Holds connections without touching them.
        final class Holder: Sendable {
            let connections = Locked<[RawConnection]>([])
        }

        @Test func idleConnectionsAreServedTheirTimeoutWhileHonestClientsAreServed() async throws {
            try raiseDescriptorLimit(toAtLeast: 2 * Self.idleCount + 1000)
            try await withTemporaryDirectory { dir in
                let path = dir + "/idle.sock"
                let arguments = ["--quiet", "--max-connections", "10000", "--idle-timeout", "2"]
                try await withServe(path, arguments) { server in
                    try deliverAcknowledged(path, Array("warm up".utf8))
                    let before = try Memory(of: server.pid)
                    let descriptorsBefore = try await settledDescriptorCount(server.pid)
                    let honest = HonestTraffic { index in
                        try deliverAcknowledged(path, honestMessage(seed: 3, index: index))
                    }

                    // Open them all; every 500, an honest client must be served while they are open.
                    let holder = Holder()
                    let servedAlongside = try await onThread { () throws -> Int in
                        var served = 0
                        for index in 0..<Self.idleCount {
                            let connection = try RawConnection(path)
                            holder.connections.withLock { $0.append(connection) }
                            if index % 500 == 499 {
                                try deliverAcknowledged(path, honestMessage(seed: 4, index: index))
                                served += 1
                            }
                        }
                        return served
                    }
                    #expect(servedAlongside == Self.idleCount / 500)
                    let openOnServer = try openDescriptorCount(server.pid)
                    let whileOpen = try Memory(of: server.pid)

                    // Each one gets the idle timeout's error reply, then end of stream.
                    let connections = holder.connections.withLock { $0 }
                    let timedOut = try await onThread { () throws -> Int in
                        var count = 0
                        for connection in connections {
                            let (reply, ending) = try connection.readUntilClosed(maximumSize: 4096)
                            let text = String(decoding: reply, as: UTF8.self)
                            guard text.hasPrefix("error: no data"), text.hasSuffix("\n"), ending == .endOfStream else {
                                throw TestFailure(
                                    "idle connection \(count) got \(text.debugDescription), then \(ending)")
                            }
                            count += 1
                            connection.close()
                        }
                        return count
                    }
                    #expect(timedOut == Self.idleCount)
                    let report = await honest.stop()
                    #expect(report.failures.isEmpty, "\(report.failures)")
                    #expect(report.served > 0)
                    let after = try Memory(of: server.pid)
                    print(
                        """
                        IdleConnections: \(Self.idleCount) idle connections; server descriptors with them open: \
                        \(openOnServer); memory before: \(before); with them: \(whileOpen); after: \(after); \
                        peak \(after.peak) KiB; honest exchanges meanwhile: \(report.served)
                        """)
                    #expect(after.peak < Self.peakBound, "peak resident memory \(after.peak) KiB")
                    let descriptorsAfter = try await settledDescriptorCount(server.pid)
                    #expect(
                        descriptorsAfter <= descriptorsBefore + 1,
                        "descriptors: \(descriptorsBefore) before, \(descriptorsAfter) after")
                    try deliverAcknowledged(path, Array("still serving".utf8))
                }
            }
        }
    }
}
