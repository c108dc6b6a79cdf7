import Foundation
import NIOCore
import Testing
import UDSKitTestSupport

@testable import UDSKit

extension LibraryTests {
    /// Issue 11, item 4: a cancelled task's `deliver` or `request` ends promptly with `CancellationError`, and the
    /// client (a framed connection) still works afterwards. The seqpacket and datagram calls: SocketCancellationTests.
    @Suite struct AsyncCancellationTests {
        // MARK: MessageClient

        /// The server takes the message and never replies; the delivery's task is cancelled while it waits for the
        /// reply, and ends with `CancellationError` at once (the latch that would let the server reply opens only
        /// after the watchdog, so a delivery that ignored the cancellation would end acknowledged, and fail).
        @Test func aDeliveryToAServerThatNeverRepliesEndsWhenItsTaskIsCancelled() async throws {
            let latch = makeLatch()
            defer { latch.open() }
            let handler = MessageHandler.buffered { message, _ in
                await latch.arrive()
                return Acknowledgement.reply(forByteCount: message.count)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/silent.sock"
                try await withRunningServer(at: path, handler: handler) { _ in
                    let client = try makeClient(path)
                    let delivery = Task { try await client.deliver("never answered") }
                    try await waitUntil("the server has the message") { latch.arrived == 1 }
                    delivery.cancel()
                    _ = try await withWatchdog(seconds: 10, onTimeout: { latch.open() }) {
                        await #expect(throws: CancellationError.self) { try await delivery.value }
                    }
                    latch.open()
                    // The client is a value with no connection of its own: the next delivery just works.
                    #expect(try await client.deliver("next") == 4)
                }
            }
        }

        /// The reply timeout is a timer on the client reactor: a server that stays silent past it fails the
        /// delivery with `.timedOut`, and the client works on.
        @Test func aDeliveryToASilentServerPastItsReplyTimeoutThrowsTimedOut() async throws {
            let latch = makeLatch()
            defer { latch.open() }
            let handler = MessageHandler.buffered { message, _ in
                if message.string == "held" { await latch.arrive() }
                return Acknowledgement.reply(forByteCount: message.count)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/silent.sock"
                try await withRunningServer(at: path, handler: handler) { _ in
                    let client = try makeClient(path) { $0.replyTimeout = .milliseconds(200) }
                    let error = try await #require(throws: UnixSocketError.self) { try await client.deliver("held") }
                    #expect(error.code == .timedOut, "\(error)")
                    #expect(latch.arrived == 1, "the server had the message")
                    latch.open()
                    #expect(try await client.deliver("next") == 4)
                }
            }
        }

        @Test func aDeliveryInATaskCancelledBeforeItStartsThrowsCancellationError() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: .acknowledge) { server in
                    let client = try makeClient(path)
                    let delivery = Task {
                        withUnsafeCurrentTask { $0?.cancel() }
                        return try await client.deliver("too late")
                    }
                    await #expect(throws: CancellationError.self) { try await delivery.value }
                    #expect(server.statistics.messages == 0)
                }
            }
        }

        /// A large message from chunks, to a server that reads nothing until it is let go: the producer waits for
        /// room in the socket when the task is cancelled. From an ordinary task, and from one on the client's
        /// executor, whose chunks are written inline until the socket is full.
        @Test(arguments: [false, true])
        func aDeliveryOfChunksWaitingForRoomEndsWhenItsTaskIsCancelled(onClientExecutor: Bool) async throws {
            let latch = makeLatch()
            defer { latch.open() }
            let handler = MessageHandler.streaming { body, _ in
                await latch.arrive()
                var count = 0
                for try await chunk in body { count += chunk.readableBytes }
                return Acknowledgement.reply(forByteCount: count)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/stuck.sock"
                try await withRunningServer(at: path, handler: handler) { _ in
                    let client = try makeClient(path)
                    let produced = Shared(0)
                    let chunks = GeneratedChunks(chunkCount: 100_000, chunkSize: 64 * 1024)  // 6.4 GB: never all taken
                    let counted = AsyncCountingSequence(base: chunks, counter: produced)
                    let executor: (any TaskExecutor)? = onClientExecutor ? try client.executor : nil
                    let delivery = Task(executorPreference: executor) { try await client.deliver(.chunks(counted)) }
                    // Once this many chunks are produced, the socket buffers are full and the producer waits.
                    // The exchange watches its socket for room only while a chunk waits for it (the server, which
                    // does not write, watches nothing for writability).
                    try await waitUntil("the producer waits for room in the socket") {
                        produced.value > 0 && someDescriptorWaitsForRoom()
                    }
                    delivery.cancel()
                    _ = try await withWatchdog(seconds: 10, onTimeout: { latch.open() }) {
                        await #expect(throws: CancellationError.self) { try await delivery.value }
                    }
                    latch.open()  // the handler finds the connection gone; the server shuts down at once
                }
            }
        }

        // MARK: FramedClient

        /// A framed request whose task is cancelled while the server holds its reply ends with `CancellationError`,
        /// and the connection survives: the late reply is dropped, and the next request gets its own.
        /// (Failed at 3d7d6ca, where `request` had no cancellation handler; fixed in fd26636.)
        @Test func aCancelledFramedRequestEndsAndTheNextRequestGetsItsOwnReply() async throws {
            let latch = makeLatch()
            defer { latch.open() }
            let handler = FramedHandler.requests { message, _ in
                if message.string == "held" { await latch.arrive() }
                return Message("re: " + message.string)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/framed.sock"
                try await withRunningServer(at: path, framedHandler: handler) { _ in
                    let client = try await FramedClient.connect(to: UnixSocketAddress(path))
                    defer { client.close() }
                    let held = Task { try await client.request("held") }
                    try await waitUntil("the server holds the request") { latch.arrived == 1 }
                    held.cancel()
                    // A request that ignored the cancellation would end only once the watchdog lets the server
                    // reply, with "re: held", and fail here.
                    _ = try await withWatchdog(seconds: 10, onTimeout: { latch.open() }) {
                        await #expect(throws: CancellationError.self) { try await held.value }
                    }
                    latch.open()
                    #expect(try await client.request("next").string == "re: next")
                    #expect(try await client.request("last").string == "re: last")
                }
            }
        }

        /// A framed request in a task cancelled before it is made throws at once.
        @Test func aFramedRequestInATaskCancelledBeforeItStartsThrowsCancellationError() async throws {
            let handler = FramedHandler.requests { message, _ in Message("re: " + message.string) }
            try await withTemporaryDirectory { directory in
                let path = directory + "/framed.sock"
                try await withRunningServer(at: path, framedHandler: handler) { _ in
                    let client = try await FramedClient.connect(to: UnixSocketAddress(path))
                    defer { client.close() }
                    let request = Task {
                        withUnsafeCurrentTask { $0?.cancel() }
                        return try await client.request("too late")
                    }
                    await #expect(throws: CancellationError.self) { try await request.value }
                    #expect(try await client.request("next").string == "re: next")
                }
            }
        }

        /// A request times out while the server holds its reply, with another request queued behind it on the same
        /// connection: when the server lets go, the late reply is dropped and the request behind gets its own.
        @Test func aTimedOutFramedRequestLeavesTheConnectionWorking() async throws {
            let latch = makeLatch()
            defer { latch.open() }
            let handler = FramedHandler.requests { message, _ in
                if message.string == "held" { await latch.arrive() }
                return Message("re: " + message.string)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/framed.sock"
                try await withRunningServer(at: path, framedHandler: handler) { _ in
                    let client = try await FramedClient.connect(to: UnixSocketAddress(path))
                    defer { client.close() }
                    let held = Task { try await client.request("held", timeout: .milliseconds(100)) }
                    try await waitUntil("the server holds the request") { latch.arrived == 1 }
                    let behind = Task { try await client.request("behind") }
                    let error = try await #require(throws: UnixSocketError.self) { try await held.value }
                    #expect(error.code == .timedOut)
                    latch.open()
                    #expect(try await behind.value.string == "re: behind")
                    // And many more, pipelined from several tasks, each get their own.
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for index in 0..<50 {
                            group.addTask {
                                let reply = try await client.request(Message("r\(index)"))
                                #expect(reply.string == "re: r\(index)")
                            }
                        }
                        try await group.waitForAll()
                    }
                }
            }
        }
    }
}
