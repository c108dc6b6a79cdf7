import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

/// Many clients at once, some of them misbehaving: every honest one gets its own, correct acknowledgement.
@Suite struct ConcurrentClientsTests {
    /// Message sizes from 0 to 100,000 bytes, different for neighbouring clients.
    private static func size(ofMessage index: Int) -> Int {
        switch index {
        case 0: 0
        case 1: 100_000
        default: (index &* 7919) % 100_001
        }
    }

    @Test(.serialized, arguments: AcknowledgingHandler.allCases)
    func thousandConcurrentClientsAreAllAcknowledged(handler: AcknowledgingHandler) async throws {
        let clients = 1000
        try await withTemporaryDirectory { directory in
            let path = directory + "/app.sock"
            try await withRunningServer(at: path, handler: handler.handler) { server in
                // Every client connects first and waits for the others, so that all 1000 connections are open at
                // once; then they all write.
                let barrier = ThreadBarrier(count: clients)
                let failures = await runOnThreads(clients) { index -> String? in
                    let message = payload(Self.size(ofMessage: index), seed: index)
                    do {
                        let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
                        defer { connection.close() }
                        try connection.setReadTimeout(.seconds(120))
                        try connection.setWriteTimeout(.seconds(120))
                        guard barrier.arriveAndWait() else { return "client \(index): the others never connected" }
                        try connection.write(message)
                        try connection.closeWrite()
                        let reply = try connection.readToEnd(maximumSize: 100)
                        let expected = "\(message.count)\n"
                        return reply == Array(expected.utf8)
                            ? nil : "client \(index): sent \(message.count) bytes, got \(String(decoding: reply, as: UTF8.self).debugDescription)"
                    } catch {
                        _ = barrier.arriveAndWait(timeout: 0)
                        return "client \(index): \(error)"
                    }
                }
                let failed = failures.compactMap { $0 }
                #expect(failed.isEmpty, "\(failed.count) of \(clients) failed, e.g. \(failed.prefix(5))")
                try await waitUntil("every connection is closed") { server.openConnectionCount == 0 }
            }
        }
    }

    @Test func manyConcurrentDeliveriesThroughMessageClientAreAcknowledged() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/app.sock"
            try await withRunningServer(at: path, handler: .acknowledge) { _ in
                let client = try makeClient(path)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<300 {
                        group.addTask {
                            let message = Message(bytes: payload(Self.size(ofMessage: index), seed: index))
                            let delivered = try await client.deliver(message)
                            #expect(delivered == message.count)
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    @Test(.serialized, arguments: AcknowledgingHandler.allCases)
    func clientThatDisconnectsMidMessageDisturbsNobody(handler: AcknowledgingHandler) async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/app.sock"
            try await withRunningServer(at: path, handler: handler.handler) { server in
                let failures = await runOnThreads(400) { index -> String? in
                    do {
                        switch index % 4 {
                        case 0:
                            // Writes half of a 100 KB message, then closes without half-closing or reading.
                            let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
                            try connection.write(payload(50_000, seed: index))
                            connection.close()
                            return nil
                        case 1:
                            // Connects and goes away at once.
                            try UnixSocketConnection.connect(to: UnixSocketAddress(path)).close()
                            return nil
                        default:
                            let message = payload(Self.size(ofMessage: index) / 2, seed: index)
                            let reply = try exchangeBlocking(path, message)
                            return reply == Array("\(message.count)\n".utf8)
                                ? nil : "client \(index): sent \(message.count), got \(String(decoding: reply, as: UTF8.self).debugDescription)"
                        }
                    } catch {
                        return "client \(index): \(error)"
                    }
                }
                let failed = failures.compactMap { $0 }
                #expect(failed.isEmpty, "\(failed.count) failed, e.g. \(failed.prefix(5))")
                // The abandoned connections are not leaked, and the server still serves.
                try await waitUntil("every connection is closed") { server.openConnectionCount == 0 }
                #expect(try await makeClient(path).deliver("after the rude ones") == 19)
            }
        }
    }
}
