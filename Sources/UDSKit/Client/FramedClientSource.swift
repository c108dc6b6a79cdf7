import NIOCore
import Synchronization
import SystemPackage

/// What a ``FramedClient`` hands its connection: frames to write, each with the waiter for its reply, if any.
final class RequestQueue: Sendable {
    struct Entry: Sendable {
        var frame: ByteBuffer
        var waiter: Waiter?
    }
    /// The task waiting for the replies to one entry: a request's one reply, or a batch's replies in order.
    struct Waiter: Sendable {
        enum Reply: Sendable {
            case one(CheckedContinuation<Message, any Error>)
            case batch(CheckedContinuation<[Message], any Error>, count: Int)
        }
        let id: Int
        let reply: Reply

        /// How many frames answer it.
        var replies: Int {
            switch reply {
            case .one: return 1
            case .batch(_, let count): return count
            }
        }

        func fail(_ error: any Error) {
            switch reply {
            case .one(let continuation): continuation.resume(throwing: error)
            case .batch(let continuation, _): continuation.resume(throwing: error)
            }
        }
    }
    private struct State {
        var entries: [Entry] = []
        var isDrainScheduled = false
        var closedWith: UnixSocketError?
    }
    private let state = Locked(State())

    /// Queues an entry; returns whether the caller must schedule a drain, or the error if the connection is gone.
    func enqueue(_ entry: Entry) -> Result<Bool, UnixSocketError> {
        state.withLock { state in
            if let error = state.closedWith { return .failure(error) }
            state.entries.append(entry)
            defer { state.isDrainScheduled = true }
            return .success(!state.isDrainScheduled)
        }
    }

    func take() -> [Entry] {
        state.withLock { state in
            state.isDrainScheduled = false
            defer { state.entries = [] }
            return state.entries
        }
    }

    /// Refuses new entries; returns the ones not yet taken.
    func close(_ error: UnixSocketError) -> [Entry] {
        state.withLock { state in
            state.closedWith = state.closedWith ?? error
            defer { state.entries = [] }
            return state.entries
        }
    }
}

/// A client's persistent framed connection on the client reactor: writes queued requests, matches replies to them
/// in order, and passes frames nobody waits for on as pushed messages. On a seqpacket socket (`packets`) each
/// message is one packet: the queue still holds them length-prefixed, and each goes out as a packet of its own.
final class FramedClientSource: ReactorSource {
    private let descriptor: CInt
    private let reactor: Reactor
    private let queue: RequestQueue
    private let pushed: FrameSequence.Source
    private let onClose: @Sendable () -> Void
    private let address: String
    private var decoder: FramingDecoder
    private let packets: Bool
    private var outbound = ByteBuffer()
    /// The requests written whose replies have not all come.
    private var replies = ReplyMatcher()
    /// When requests with a timeout give up, by request ID.
    private var deadlines: [Int: (at: ContinuousClock.Instant, timeout: Duration)] = [:]
    private var isCheckingDeadlines = false
    private var isPausedForConsumer = false
    private var closesWhenFlushed = false
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []
    private var isClosed = false

    init(
        descriptor: CInt, reactor: Reactor, queue: RequestQueue, pushed: FrameSequence.Source,
        maximumFrameSize: Int, packets: Bool, framing: Framing = .lengthPrefixed, address: String,
        onClose: @escaping @Sendable () -> Void
    ) {
        self.packets = packets
        self.descriptor = descriptor
        self.reactor = reactor
        self.queue = queue
        self.pushed = pushed
        self.decoder = FramingDecoder(packets ? .lengthPrefixed : framing, maximumFrameSize: maximumFrameSize)
        self.address = address
        self.onClose = onClose
    }

    func start() {
        reactor.adopt(descriptor, self)
        readAndWrite()
    }

    func handle(_ events: Epoll.Events) { readAndWrite() }

    func forceClose() { close(UnixSocketError(.connectionClosed, operation: .read, socket: address)) }

    /// Requests were queued: write them. Reading waits for epoll to say the socket is readable, so a request costs
    /// no read that would find nothing.
    func drain() {
        guard !isClosed else { return }
        takeQueued()
        do {
            try flush()
            if closesWhenFlushed && outbound.readableBytes == 0 { return closeByClient() }
            try watch()
        } catch {
            close(failure(error))
        }
    }

    private func takeQueued() {
        for entry in queue.take() {
            var frame = entry.frame
            outbound.writeBuffer(&frame)
            if let waiter = entry.waiter { replies.expect(waiter) }
        }
    }

    /// Why the connection ends: a frame the decoder refused closes it; anything else as ``UnixSocketError``.
    private func failure(_ error: any Error) -> UnixSocketError {
        if let error = error as? FrameError {
            return UnixSocketError(.connectionClosed, operation: .read, socket: address, detail: "\(error)")
        }
        return UnixSocketError.wrapping(error, operation: .read, socket: address)
    }

    private func readAndWrite() {
        guard !isClosed else { return }
        takeQueued()
        do {
            try flush()
            if closesWhenFlushed && outbound.readableBytes == 0 { return closeByClient() }
            try read()
            try watch()
        } catch {
            close(failure(error))
        }
    }

    private func flush() throws {
        if packets { return try flushPackets() }
        guard outbound.readableBytes > 0 else { return }
        let written = try outbound.withUnsafeReadableBytes { raw throws(Errno) in
            try Syscall.sendNonBlocking(descriptor, raw)
        }
        outbound.moveReaderIndex(forwardBy: written)
        if outbound.readableBytes == 0 { outbound.clear() }
    }

    /// Sends queued messages, one packet each, until the socket is full.
    private func flushPackets() throws {
        do {
            try PacketIO.sendQueued(descriptor, &outbound) { _ in }
        } catch {
            let length = outbound.getInteger(at: outbound.readerIndex, as: UInt32.self).map(Int.init) ?? 0
            throw PacketIO.sendFailure(error, bytes: length, descriptor: descriptor, socket: address)
        }
    }

    /// Reads packets, each one message, up to 16 at a time.
    private func readPackets() throws {
        let limit = min(decoder.maximumFrameSize, reactor.readBuffer.count)
        for _ in 0..<16 where !isPausedForConsumer && !isClosed {
            var passed = Passed()  // a framed client takes no descriptors: any that come are closed, not leaked
            guard
                let packet = try Syscall.receivePacket(descriptor, into: reactor.readBuffer, passed: &passed, limit: 0)
            else { return }
            if packet.length == 0 {  // an empty packet reads as the end too
                throw UnixSocketError(
                    .connectionClosed, operation: .read, socket: address, detail: "the server closed the connection")
            }
            guard !packet.isTruncated, packet.length <= limit else {
                throw UnixSocketError(
                    .messageTooLarge, operation: .read, socket: address,
                    detail: "a packet of \(packet.length) bytes; this client takes at most \(limit)")
            }
            let payload = UnsafeRawBufferPointer(rebasing: reactor.readBuffer[..<packet.length])
            deliver(replies.match(payload), payload)
        }
    }

    private func read() throws {
        if packets { return try readPackets() }
        var reads = 0
        while !isPausedForConsumer && !isClosed && reads < 16 {
            var passed = Passed()  // a framed client takes no descriptors: any that come are closed, not leaked
            guard let count = try Syscall.receive(descriptor, into: reactor.readBuffer, passed: &passed, limit: 0)
            else { return }
            if count == 0 {
                throw UnixSocketError(
                    .connectionClosed, operation: .read, socket: address,
                    detail: decoder.hasPartialFrame
                        ? "the server closed inside a frame" : "the server closed the connection")
            }
            // The matcher is moved out while the frames are fed: one access to this object per read, not per frame.
            var matcher = ReplyMatcher()
            swap(&matcher, &replies)
            defer { swap(&matcher, &replies) }
            try decoder.feed(UnsafeRawBufferPointer(rebasing: reactor.readBuffer[..<count])) { payload in
                deliver(matcher.match(payload), payload)
            }
            if count < reactor.readBuffer.count { return }  // a short read: the socket is empty
            reads += 1
        }
    }

    /// Acts on what ``ReplyMatcher`` made of one frame from the server: resumes the request it completes, or passes
    /// it on to ``FramedClient/incoming`` when no request waits.
    private func deliver(_ outcome: ReplyMatcher.Outcome, _ payload: UnsafeRawBufferPointer) {
        switch outcome {
        case .absorbed:
            return
        case .pushed:
            if pushed.yield(Message(buffer: ByteBuffer(bytes: payload))) != .produceMore { isPausedForConsumer = true }
        case .reply(let id, let continuation, let reply):
            if !deadlines.isEmpty { deadlines[id] = nil }
            ThreadSanitizer.release(queue)
            continuation.resume(returning: reply)
        case .batch(let id, let continuation, let batch):
            if !deadlines.isEmpty { deadlines[id] = nil }
            ThreadSanitizer.release(queue)
            continuation.resume(returning: batch)
        case .dropped(let id):
            if !deadlines.isEmpty { deadlines[id] = nil }
        }
    }

    private func watch() throws(Errno) {
        var interest: Epoll.Events = []
        if !isPausedForConsumer { interest.insert(.readable) }
        if outbound.readableBytes > 0 { interest.insert(.writable) }
        if interest.isEmpty { reactor.unwatch(descriptor) } else { try reactor.watch(descriptor, interest) }
    }

    /// The consumer of pushed frames wants more.
    func resumeReading() {
        guard isPausedForConsumer else { return }
        isPausedForConsumer = false
        readAndWrite()
    }

    /// Fails request `id` after `timeout` unless its reply came. One timer per connection checks every deadline,
    /// so that many requests with timeouts do not pile up timers.
    func scheduleTimeout(_ id: Int, after timeout: Duration) {
        deadlines[id] = (ContinuousClock.now + timeout, timeout)
        guard !isCheckingDeadlines else { return }
        isCheckingDeadlines = true
        reactor.schedule(after: .milliseconds(20)) { [weak self] in self?.checkDeadlines() }
    }

    private func checkDeadlines() {
        isCheckingDeadlines = false
        guard !isClosed else { return }
        let now = ContinuousClock.now
        for (id, deadline) in deadlines where deadline.at <= now {
            deadlines[id] = nil
            timeOut(id, after: deadline.timeout)
        }
        if !deadlines.isEmpty {
            isCheckingDeadlines = true
            reactor.schedule(after: .milliseconds(20)) { [weak self] in self?.checkDeadlines() }
        }
    }

    /// The task of request `id` was cancelled: fail it with `CancellationError` now and drop its reply when it comes.
    /// A request still queued is written first, so that replies stay matched to requests.
    func cancel(_ id: Int) {
        guard !isClosed else { return }
        drain()
        drop(id, failing: CancellationError())
    }

    /// The request `id` gave up waiting: fail it now and drop its reply when it comes.
    private func timeOut(_ id: Int, after timeout: Duration) {
        let error = UnixSocketError(
            .timedOut, operation: .request, socket: address, detail: "no reply within \(timeout)")
        drop(id, failing: error)
    }

    /// Fails the waiter of pending request `id` with `error`; its replies, when they come, are dropped.
    private func drop(_ id: Int, failing error: any Error) {
        deadlines[id] = nil
        if let waiter = replies.giveUp(id) { fail(waiter, with: error) }
    }

    /// Fails a request's task with an error built here on the reactor. The release pairs with the acquire in
    /// ``FramedClient/request(_:timeout:)``: see ``ThreadSanitizer``.
    private func fail(_ waiter: RequestQueue.Waiter, with error: any Error) {
        ThreadSanitizer.release(queue)
        waiter.fail(error)
    }

    /// Closes after writing what is queued, then resumes `waiter`.
    func closeWhenFlushed(then waiter: CheckedContinuation<Void, Never>?) {
        if let waiter {
            guard !isClosed else { return waiter.resume() }
            closeWaiters.append(waiter)
        }
        closesWhenFlushed = true
        readAndWrite()
    }

    private func closeByClient() {
        close(
            UnixSocketError(
                .connectionClosed, operation: .close, socket: address, detail: "the client closed the connection"))
    }

    func close(_ error: UnixSocketError) {
        guard !isClosed else { return }
        isClosed = true
        for entry in queue.close(error) { if let waiter = entry.waiter { fail(waiter, with: error) } }
        for waiter in replies.removeAll() { fail(waiter, with: error) }
        reactor.release(descriptor)
        Syscall.close(descriptor)
        onClose()
        for waiter in closeWaiters { waiter.resume() }
        closeWaiters = []
    }
}
