import Foundation
import Testing
import UDSKitTestSupport

@testable import UDSKit

extension LibraryTests {
    /// Tasks that run on a client's executor (the client reactor) make their exchanges there, correctly.
    @Suite struct ClientExecutorTests {
        @Test func deliveriesFromATaskOnTheMessageClientsExecutor() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: .echo) { _ in
                    let client = try makeClient(path)
                    let results = try await withTaskExecutorPreference(try client.executor) {
                        () async throws -> [String] in
                        var results: [String] = []
                        for index in 0..<20 {
                            results.append(try await client.send(Message("message \(index)")).string)
                        }
                        let large = Message(bytes: payload(1_000_000))
                        results.append(try await client.send(large) == large ? "large" : "large, garbled")
                        results.append(
                            try await client.send(.chunks(GeneratedChunks(chunkCount: 8, chunkSize: 100_000))).count
                                == 800_000 ? "chunks" : "chunks, short")
                        results.append(try ClientReactor.get().inLoop ? "on the loop" : "elsewhere")
                        return results
                    }
                    #expect(results == (0..<20).map { "message \($0)" } + ["large", "chunks", "on the loop"])
                }
            }
        }

        @Test func acknowledgedDeliveriesFromManyTasksOnTheExecutor() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: .acknowledge) { server in
                    let client = try makeClient(path)
                    let executor = try client.executor
                    let tasks = (0..<100).map { index in
                        Task(executorPreference: executor) {
                            try await client.deliver(Message(bytes: payload(index * 1000, seed: index)))
                        }
                    }
                    for (index, task) in tasks.enumerated() { #expect(try await task.value == index * 1000) }
                    #expect(server.statistics.messages == 100)
                }
            }
        }

        @Test func framedRequestsFromTasksOnTheFramedClientsExecutor() async throws {
            let handler = FramedHandler.requests { message, _ in Message("re: " + message.string) }
            try await withTemporaryDirectory { directory in
                let path = directory + "/framed.sock"
                try await withRunningServer(at: path, framedHandler: handler) { _ in
                    let client = try await FramedClient.connect(to: UnixSocketAddress(path))
                    defer { client.close() }
                    let replies = try await withTaskExecutorPreference(client.executor) { () async throws -> [String] in
                        var replies: [String] = []
                        for index in 0..<50 { replies.append(try await client.request(Message("one \(index)")).string) }
                        // Pipelined from child tasks, which inherit the preference.
                        let pipelined = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                            for index in 0..<50 {
                                group.addTask { (index, try await client.request(Message("many \(index)")).string) }
                            }
                            return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
                        }
                        replies += (0..<50).map { pipelined[$0] ?? "missing" }
                        return replies
                    }
                    #expect(replies == (0..<50).map { "re: one \($0)" } + (0..<50).map { "re: many \($0)" })
                    // And from an ordinary task, the same client still works.
                    #expect(try await client.request("off the executor").string == "re: off the executor")
                }
            }
        }

        @Test func seqPacketRequestsFromATaskOnTheClientExecutor() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/packets.sock"
                try await withRunningServer(at: path, configuration: .seqPacket, framedHandler: .echo) { _ in
                    let connection = try SeqPacketConnection.connect(to: UnixSocketAddress(path))
                    defer { connection.close() }
                    let executor = try MessageClient(path: path).executor
                    let replies = try await withTaskExecutorPreference(executor) { () async throws -> [String] in
                        var replies: [String] = []
                        for index in 0..<20 {
                            replies.append(try await connection.request(Message("packet \(index)")).string)
                        }
                        return replies
                    }
                    #expect(replies == (0..<20).map { "packet \($0)" })
                }
            }
        }
    }
}
