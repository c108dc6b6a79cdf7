import Histogram
import NIOCore
import Synchronization
import UDSKit

/// Every scenario through UDSKit's public async API, from Swift tasks, the way an application calls it (`--api
/// async`): oneshot, bulk and fanin deliver with ``MessageClient`` from C tasks; pingpong awaits
/// ``FramedClient/request(_:timeout:)`` one at a time; pipeline runs C ``FramedClient``s, each with many requests in
/// flight from concurrent tasks, in batches (``FramedClient/requests(_:timeout:)`` of a ``FrameBatch``). The tasks
/// prefer the client reactor as their executor, as the library's docs recommend for a client that makes many
/// exchanges, so each exchange runs on the thread where its bytes arrive.
struct AsyncScenario: Sendable {
    let options: LoadOptions
    let progress: LoadProgress
    private var size: Int { options.size }

    func run() async throws -> LoadResult {
        guard options.prefersClientExecutor else {
            return try await withTaskExecutorPreference(globalConcurrentExecutor) { try await runScenario() }
        }
        let executor = try MessageClient(address: options.address).executor
        return try await withTaskExecutorPreference(executor) { try await runScenario() }
    }

    private func runScenario() async throws -> LoadResult {
        switch options.scenario {
        case .oneshot: return try await oneshot()
        case .bulk: return try await bulk()
        case .fanin: return try await fanin()
        case .pingpong: return try await pingpong()
        case .pipeline: return try await pipeline()
        }
    }

    /// C tasks share N deliveries of SIZE bytes.
    private func oneshot() async throws -> LoadResult {
        let client = MessageClient(address: options.address)
        let message = Message(bytes: [UInt8](repeating: UInt8(ascii: "x"), count: size))
        let next = TicketCounter()
        let count = options.count
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: Histogram<UInt64>.self) { group in
            for _ in 0..<options.concurrency {
                group.addTask {
                    var latencies = Load.makeHistogram()
                    while next.take() < count {
                        let began = ContinuousClock.now
                        try check(try await client.deliver(message))
                        _ = latencies.record(began.nanosecondsSince)
                        progress.add(1)
                    }
                    return latencies
                }
            }
            var merged = Load.makeHistogram()
            for try await latencies in group { merged.add(latencies) }
            return merged
        }
        return LoadResult(operations: Int(latencies.totalCount), seconds: start.secondsSince, latencies: latencies)
    }

    /// One delivery of SIZE bytes, streamed in 1 MiB chunks from one reused buffer.
    private func bulk() async throws -> LoadResult {
        let client = MessageClient(address: options.address)
        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: min(size, 1 << 20))
        let chunks = RepeatedChunks(chunk: chunk, total: size)
        let start = ContinuousClock.now
        try check(try await client.deliver(.buffers(chunks)))
        var latencies = Load.makeHistogram()
        _ = latencies.record(start.nanosecondsSince)
        progress.add(1)
        return LoadResult(operations: 1, seconds: start.secondsSince, latencies: latencies)
    }

    /// C concurrent deliveries; each connects, then waits until every one has connected before it writes its SIZE
    /// bytes (a `.chunks` message whose producer waits at a barrier), so that all C connections are open at once.
    private func fanin() async throws -> LoadResult {
        let client = MessageClient(address: options.address)
        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: size)
        let barrier = AsyncBarrier(parties: options.concurrency)
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for _ in 0..<options.concurrency {
                group.addTask {
                    let written = Locked(ContinuousClock.now)
                    let message = OutgoingMessage.chunks(
                        BarrierChunks(barrier: barrier, chunk: chunk, written: written))
                    try check(try await client.deliver(message))
                    progress.add(1)
                    return written.withLock { $0 }.nanosecondsSince
                }
            }
            var merged = Load.makeHistogram()
            for try await latency in group { _ = merged.record(latency) }
            return merged
        }
        return LoadResult(operations: Int(latencies.totalCount), seconds: start.secondsSince, latencies: latencies)
    }

    /// One framed client; N requests awaited one at a time.
    private func pingpong() async throws -> LoadResult {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let request = Message(bytes: payload)
        var latencies = Load.makeHistogram()
        var configuration = FramedClient.Configuration()
        configuration.maximumFrameSize = max(size, 1 << 20)
        if options.seqPacket { configuration.socketType = .seqPacket }
        let start = ContinuousClock.now
        let client = try await FramedClient.connect(to: options.address, configuration: configuration)
        for done in 0..<options.count {
            let sent = ContinuousClock.now
            let echo = try await client.request(request)
            _ = latencies.record(sent.nanosecondsSince)
            guard echo.count == payload.count, echo.bytes == payload else {
                throw LoadFailure("an echo differs from the frame sent")
            }
            if done & 255 == 255 { progress.add(256) }
        }
        progress.add(options.count & 255)
        let seconds = start.secondsSince
        await client.closeGracefully()
        return LoadResult(operations: options.count, seconds: seconds, latencies: latencies)
    }

    /// C framed clients; each carries its share of N frames with many requests in flight from concurrent tasks.
    private func pipeline() async throws -> LoadResult {
        let (count, concurrency) = (options.count, options.concurrency)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<concurrency {
                let frames = count / concurrency + (index < count % concurrency ? 1 : 0)
                group.addTask { try await pipe(frames: frames, seed: index) }
            }
            try await group.waitForAll()
        }
        return LoadResult(operations: count, seconds: start.secondsSince, latencies: Load.makeHistogram())
    }

    /// Tasks with a batch in flight on one connection at a time, and the requests in each batch: about 4,000
    /// requests in flight, with one continuation per batch rather than one per request, and writes large enough that
    /// the server's system calls do not dominate (256-request batches were 10-20% slower). A batch is four cycles of
    /// the 251 payloads, so that every full batch is the same value, built once (as the blocking client builds its
    /// frames once); only a last, shorter batch is built apart.
    private static let tasksPerConnection = 4
    private static let batchSize = 4 * 251

    private func pipe(frames: Int, seed: Int) async throws {
        var configuration = FramedClient.Configuration()
        configuration.maximumFrameSize = max(size, 1 << 20)
        let client = try await FramedClient.connect(to: options.address, configuration: configuration)
        // Request i carries pattern[(i + seed) % 251 ..< that + size]: every echo is checked byte for byte.
        let pattern = (0..<(251 + size)).map { UInt8($0 % 251) }
        let batchSize = Self.batchSize
        let full = makeBatch(frames: 0..<batchSize, seed: seed, pattern: pattern)
        let next = TicketCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<min(Self.tasksPerConnection, max(frames / batchSize, 1)) {
                group.addTask {
                    while true {
                        let first = next.take(batchSize)
                        guard first < frames else { break }
                        let last = min(first + batchSize, frames)
                        // A batch starts at a multiple of 251 frames, so a full one is `full`.
                        let batch =
                            last - first == batchSize
                            ? full : makeBatch(frames: first..<last, seed: seed, pattern: pattern)
                        let echoes = try await client.requests(batch)
                        guard echoes == batch else {
                            throw LoadFailure("an echo in frames \(first)..<\(last) differs from its frame")
                        }
                        progress.add(batch.count)
                    }
                }
            }
            try await group.waitForAll()
        }
        await client.closeGracefully()
    }

    /// The requests for `frames`: frame i carries pattern[(i + seed) % 251 ..< that + size].
    private func makeBatch(frames: Range<Int>, seed: Int, pattern: [UInt8]) -> FrameBatch {
        var batch = FrameBatch()
        batch.reserveCapacity(messages: frames.count, payloadBytes: frames.count * size)
        pattern.withUnsafeBytes { pattern in
            for index in frames {
                let start = (index + seed) % 251
                batch.append(bytes: UnsafeRawBufferPointer(rebasing: pattern[start..<start + size]))
            }
        }
        return batch
    }

    private func check(_ delivered: Int) throws {
        guard delivered == size else { throw LoadFailure("delivered \(delivered) bytes, expected \(size)") }
    }
}

/// `total` bytes as repeats of `chunk` (the last one cut short).
private struct RepeatedChunks: AsyncSequence, Sendable {
    let chunk: ByteBuffer
    let total: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let chunk: ByteBuffer
        var left: Int
        mutating func next() async -> ByteBuffer? {
            guard left > 0 else { return nil }
            let part = Swift.min(left, chunk.readableBytes)
            left -= part
            return part == chunk.readableBytes ? chunk : chunk.getSlice(at: chunk.readerIndex, length: part)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunk: chunk, left: total) }
}

/// One chunk, produced once every party of `barrier` has reached it (each delivery is connected by then), noting
/// when it was handed over.
private struct BarrierChunks: AsyncSequence, Sendable {
    let barrier: AsyncBarrier
    let chunk: ByteBuffer
    let written: Locked<ContinuousClock.Instant>

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: BarrierChunks
        var isDone = false
        mutating func next() async -> ByteBufferView? {
            guard !isDone else { return nil }
            isDone = true
            await source.barrier.arriveAndWait()
            source.written.withLock { $0 = .now }
            return source.chunk.readableBytesView
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}

/// Lets `parties` tasks wait until all of them have arrived.
final class AsyncBarrier: Sendable {
    private let state: Locked<(arrived: Int, waiters: [CheckedContinuation<Void, Never>])>
    private let parties: Int

    init(parties: Int) {
        self.parties = parties
        state = Locked((0, []))
    }

    func arriveAndWait() async {
        await withCheckedContinuation { continuation in
            let release = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.arrived += 1
                state.waiters.append(continuation)
                guard state.arrived >= parties else { return [] }
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in release { waiter.resume() }
        }
    }
}

/// Hands out 0, 1, 2, … to concurrent tasks.
final class TicketCounter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { take(1) }
    /// The first of `count` consecutive tickets.
    func take(_ count: Int) -> Int { value.add(count, ordering: .relaxed).oldValue }
}
