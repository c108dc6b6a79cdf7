import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// Many clients at once, some of them misbehaving: every honest one gets its own, correct acknowledgement.
    @Suite struct ConcurrentClientsTests {
        /// Message sizes from 0 to 100,000 bytes, different for neighbouring clients.
        static func size(ofMessage index: Int) -> Int {
            switch index {
            case 0: 0
            case 1: 100_000
            default: (index &* 7919) % 100_001
            }
        }

        /// 1000 connections open at once, made by 100 threads with 10 each: every thread connects all of its
        /// clients, all threads wait until the 1000 are connected, then each writes its clients' messages and reads
        /// their replies.
        @Test(arguments: AcknowledgingHandler.allCases)
        func thousandConcurrentClientsAreAllAcknowledged(handler: AcknowledgingHandler) async throws {
            let (threads, clientsPerThread) = (100, 10)
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                var configuration = MessageServer.Configuration()
                configuration.idleTimeout = .seconds(30 * sanitizerOverhead)  // 1,000 connects are slow under TSan
                try await withRunningServer(at: path, configuration: configuration, handler: handler.handler) {
                    server in
                    let barrier = ThreadBarrier(count: threads)
                    let failures = await runOnThreads(threads) { thread -> [String] in
                        let clients = (0..<clientsPerThread).map { thread * clientsPerThread + $0 }
                        var connections: [UnixSocketConnection] = []
                        defer { connections.forEach { $0.close() } }
                        do {
                            for _ in clients {
                                let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
                                try connection.setReadTimeout(.seconds(120))
                                try connection.setWriteTimeout(.seconds(120))
                                connections.append(connection)
                            }
                        } catch {
                            _ = barrier.arriveAndWait(timeout: 0)
                            return ["thread \(thread): connect: \(error)"]
                        }
                        guard barrier.arriveAndWait() else { return ["thread \(thread): the others never connected"] }
                        var failures: [String] = []
                        for (client, connection) in zip(clients, connections) {
                            do {
                                try connection.write(payload(Self.size(ofMessage: client), seed: client))
                                try connection.closeWrite()
                            } catch {
                                failures.append("client \(client): write: \(error)")
                            }
                        }
                        for (client, connection) in zip(clients, connections) {
                            do {
                                let reply = String(decoding: try connection.readToEnd(maximumSize: 100), as: UTF8.self)
                                let expected = "\(Self.size(ofMessage: client))\n"
                                if reply != expected {
                                    failures.append("client \(client): got \(reply.debugDescription)")
                                }
                            } catch {
                                failures.append("client \(client): read: \(error)")
                            }
                        }
                        return failures
                    }
                    let failed = failures.flatMap { $0 }
                    #expect(failed.isEmpty, "\(failed.count) failed, e.g. \(failed.prefix(5))")
                    #expect(server.statistics.messages >= threads * clientsPerThread)
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

        @Test(arguments: AcknowledgingHandler.allCases)
        func clientThatDisconnectsMidMessageDisturbsNobody(handler: AcknowledgingHandler) async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                var configuration = MessageServer.Configuration()
                configuration.idleTimeout = .seconds(30 * sanitizerOverhead)  // 1,000 connects are slow under TSan
                try await withRunningServer(at: path, configuration: configuration, handler: handler.handler) {
                    server in
                    let failures = await runOnThreads(200) { index -> String? in
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
                                let reply = String(decoding: try exchangeBlocking(path, message), as: UTF8.self)
                                return reply == "\(message.count)\n"
                                    ? nil : "client \(index): sent \(message.count), got \(reply.debugDescription)"
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
}
