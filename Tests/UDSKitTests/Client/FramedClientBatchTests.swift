import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

/// `FramedClient.requests(_:timeout:)`: many requests in one write, their replies as one result, matched in order with
/// the single requests of other tasks; a batch that gives up drops its late replies, and the connection goes on.
@Suite("FramedClient: batches of requests")
struct FramedClientBatchTests {
    private static let echo = FramedHandler.requests { message, _ in Message("re: " + message.string) }

    @Test func aBatchAndSingleRequestsFromOtherTasksEachGetTheirOwnReplies() async throws {
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/b.sock", framedHandler: Self.echo) { _ in
                let client = try await FramedClient.connect(to: UnixSocketAddress(dir + "/b.sock"))
                defer { client.close() }
                #expect(try await client.requests([]) == [])
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<8 {
                        group.addTask {
                            let batch = FrameBatch((0..<500).map { Message("task \(task) request \($0)") })
                            let replies = try await client.requests(batch)
                            #expect(replies.map(\.string) == batch.map { "re: " + $0.string })
                        }
                        group.addTask {
                            let reply = try await client.request(Message("single \(task)"))
                            #expect(reply.string == "re: single \(task)")
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    /// The server answers the batch's first request only once the client has given up: the batch times out, and
    /// its late replies (all of them, however many) are dropped, so the next request gets its own.
    @Test func aBatchThatTimesOutDropsItsLateRepliesAndTheNextRequestGetsItsOwn() async throws {
        let gaveUp = Flag()
        let handler = FramedHandler.requests { message, _ in
            if message.string == "slow" { try await waitUntil("the client gives up on the batch") { gaveUp.isSet } }
            return Message("re: " + message.string)
        }
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/t.sock", framedHandler: handler) { _ in
                let client = try await FramedClient.connect(to: UnixSocketAddress(dir + "/t.sock"))
                defer { client.close() }
                let batch = FrameBatch([Message("slow")] + (1...20).map { Message("late \($0)") })
                let error = try await #require(throws: UnixSocketError.self) {
                    try await client.requests(batch, timeout: .milliseconds(100))
                }
                #expect(error.code == .timedOut, "\(error)")
                gaveUp.set()
                #expect(try await client.request("next").string == "re: next")
                #expect(try await client.requests(["a", "b"]).map(\.string) == ["re: a", "re: b"])
            }
        }
    }

    @Test func aCancelledBatchEndsWithCancellationErrorAndTheConnectionGoesOn() async throws {
        let latch = Flag()
        let received = Flag()
        let handler = FramedHandler.requests { message, _ in
            if message.string == "held" {
                received.set()
                try await waitUntil("the test releases the held request") { latch.isSet }
            }
            return Message("re: " + message.string)
        }
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/c.sock", framedHandler: handler) { _ in
                let client = try await FramedClient.connect(to: UnixSocketAddress(dir + "/c.sock"))
                defer { client.close() }
                let batch = Task { try await client.requests(["one", "held", "three"]) }
                try await waitUntil("the server has the held request") { received.isSet }
                batch.cancel()
                await #expect(throws: CancellationError.self) { try await batch.value }
                latch.set()
                #expect(try await client.request("after").string == "re: after")
            }
        }
    }

    @Test func aBatchOverSeqPacketIsOnePacketPerMessage() async throws {
        var configuration = FramedClient.Configuration()
        configuration.socketType = .seqPacket
        try await withTemporaryDirectory { dir in
            try await withRunningServer(
                at: dir + "/p.sock", configuration: .seqPacket,
                framedHandler: .requests { message, _ in Message("\(message.count)") }
            ) { _ in
                let client = try await FramedClient.connect(
                    to: UnixSocketAddress(dir + "/p.sock"), configuration: configuration)
                defer { client.close() }
                let sizes = [1, 10, 1000, 100_000, 3]
                let replies = try await client.requests(
                    FrameBatch(sizes.map { Message(String(repeating: "x", count: $0)) }))
                #expect(replies.map(\.string) == sizes.map { "\($0)" })
            }
        }
    }

    @Test func aBatchInFlightWhenTheServerStopsFailsWithConnectionClosed() async throws {
        var configuration = MessageServer.Configuration()
        configuration.shutdownGracePeriod = .milliseconds(100)
        let received = Flag()
        let handler = FramedHandler.requests { message, _ in
            if message.string == "never" {
                received.set()
                // Never answered: the sleep is the behaviour under test (the grace period cuts it off). An hour, not 30 s,
                // so that a starved run (a sanitizer on a loaded machine took 36 s to get here) cannot outlast it.
                try await Task.sleep(for: .seconds(3600))
            }
            return Message("re: " + message.string)
        }
        try await withTemporaryDirectory { dir in
            let server = MessageServer(
                address: try UnixSocketAddress(dir + "/x.sock"), configuration: configuration, framedHandler: handler)
            try await server.start()
            let client = try await FramedClient.connect(to: UnixSocketAddress(dir + "/x.sock"))
            defer { client.close() }
            let replies = Task { try await client.requests(["first", "never", "third"]) }
            try await waitUntil("the server has the batch") { received.isSet }
            await server.shutdown()
            let error = try await #require(throws: UnixSocketError.self) { try await replies.value }
            #expect(error.code == .connectionClosed, "\(error)")
        }
    }
}
