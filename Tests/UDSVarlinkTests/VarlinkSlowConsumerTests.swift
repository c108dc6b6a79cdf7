import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

@testable import UDSVarlink

/// A server streams 20,000 replies of 4 KiB (80 MiB) to a `more` call whose consumer takes one and then lags: the
/// client holds at most ``VarlinkClient/Configuration/maximumBufferedReplyBytes`` of them and stops reading, so the
/// server, its socket full, waits in `send` after a bounded part of the stream; then the consumer takes the rest, all
/// of it, in order.
@Suite("Varlink client: a consumer that lags behind a more stream")
struct VarlinkSlowConsumerTests {
    struct Flood: Codable, Sendable { var count: Int, size: Int }
    struct Chunk: Codable, Sendable { var index: Int, data: String }

    static let idl = """
        interface org.example.flood
        method Flood(count: int, size: int) -> (index: int, data: string)
        """
    static let count = 20_000
    static let size = 4096
    static let limit = 256 * 1024

    /// A service whose `Flood` streams `count` replies of `size` bytes; `sent` counts those `send` has taken.
    static func floodService(sent: Locked<Int>) throws -> VarlinkService {
        var service = VarlinkService(vendor: "UDSKit tests", product: "flood", version: "1", url: "https://example.org")
        try service.addInterface(idl) { methods in
            methods.streamingMethod("Flood") { (request: Flood, _, replies: VarlinkReplyStream<Chunk>) in
                let data = String(repeating: "x", count: request.size)
                for index in 0..<request.count - 1 {
                    try await replies.send(Chunk(index: index, data: data))
                    sent.withLock { $0 += 1 }
                }
                return Chunk(index: request.count - 1, data: data)
            }
        }
        return service
    }

    static func connect(_ address: VarlinkAddress) async throws -> VarlinkClient {
        var configuration = VarlinkClient.Configuration()
        configuration.maximumBufferedReplyBytes = limit
        return try await VarlinkClient.connect(to: address, configuration: configuration)
    }

    @Test func theClientStopsReadingAndTheServerWaits() async throws {
        let sent = Locked(0)
        try await withVarlinkServer(try Self.floodService(sent: sent)) { address in
            let client = try await Self.connect(address)
            let replies = client.callMore(
                "org.example.flood.Flood", Flood(count: Self.count, size: Self.size), as: Chunk.self)
            var iterator = replies.makeAsyncIterator()
            #expect(try await iterator.next()?.index == 0)
            let buffer = try #require(iterator.consumer?.buffer)
            try await waitUntil("the client stops reading the stream") { buffer.held.readerWaits }

            let held = buffer.held.bytes
            let sentWhilePaused = sent.withLock { $0 }
            // One reply past the limit at most; the server got a bounded part of the stream out.
            #expect(held <= Self.limit + Self.size + 64, "\(held) bytes held")
            #expect(sentWhilePaused < Self.count / 4, "the server sent \(sentWhilePaused) of \(Self.count) replies")
            print(
                """
                VarlinkSlowConsumer: the client holds \(held / 1024) KiB (limit \(Self.limit / 1024) KiB) and stopped \
                reading; the server had sent \(sentWhilePaused) of \(Self.count) replies \
                (\(sentWhilePaused * Self.size / 1024) KiB of \(Self.count * Self.size / 1024 / 1024) MiB)
                """)

            var next = 1
            while let chunk = try await iterator.next() {
                guard chunk.index == next, chunk.data.utf8.count == Self.size else {
                    Issue.record("reply \(next) came as \(chunk.index), \(chunk.data.utf8.count) bytes")
                    break
                }
                next += 1
            }
            #expect(next == Self.count)
            #expect(buffer.held.bytes == 0)
            let last = try await client.call("org.example.flood.Flood", Flood(count: 1, size: 1), as: Chunk.self)
            #expect(last.index == 0)
            await client.close()
        }
    }

    @Test func aConsumerThatGivesUpLetsTheConnectionGoOn() async throws {
        let sent = Locked(0)
        try await withVarlinkServer(try Self.floodService(sent: sent)) { address in
            let client = try await Self.connect(address)
            var taken = 0
            for try await chunk in client.callMore(
                "org.example.flood.Flood", Flood(count: 2_000, size: Self.size), as: Chunk.self)
            {
                #expect(chunk.index == taken)
                taken += 1
                if taken == 3 { break }
            }
            // The rest of the stream is dropped as it comes; the next call's reply follows it.
            let next = try await client.call("org.example.flood.Flood", Flood(count: 1, size: 7), as: Chunk.self)
            #expect(next.index == 0 && next.data == "xxxxxxx")
            #expect(sent.withLock { $0 } == 1_999)
            await client.close()
        }
    }

    @Test func aCancelledConsumerGivesUpTheStream() async throws {
        let sent = Locked(0)
        try await withVarlinkServer(try Self.floodService(sent: sent)) { address in
            let client = try await Self.connect(address)
            let started = Locked(false)
            let consumer = Task {
                var iterator = client.callMore(
                    "org.example.flood.Flood", Flood(count: Self.count, size: Self.size), as: Chunk.self
                ).makeAsyncIterator()
                _ = try await iterator.next()
                started.withLock { $0 = true }
                try? await waitUntil("the test cancels the consumer") { Task.isCancelled }
                // The task is cancelled: this gives up the rest of the stream.
                return try await iterator.next()
            }
            try await waitUntil("the consumer has its first reply") { started.withLock { $0 } }
            consumer.cancel()
            await #expect(throws: CancellationError.self) { try await consumer.value }
            let next = try await client.call("org.example.flood.Flood", Flood(count: 1, size: 1), as: Chunk.self)
            #expect(next.index == 0)
            await client.close()
        }
    }
}
