import NIOCore
import Synchronization
import SystemPackage

/// What a ``FramedClient`` hands its connection: frames to write, each with the waiter for its reply, if any.
final class RequestQueue: Sendable {
    struct Entry: Sendable {
        var frames: Frames
        var waiter: Waiter?
    }
    /// An entry's bytes, in the connection's queue form.
    enum Frames: Sendable {
        /// Framed by the client as the connection queues them.
        case framed(ByteBuffer)
        /// A batch, queued as it is: for a length-prefixed stream or a seqpacket connection, whose queue form is
        /// length-prefixed too.
        case batch(FrameBatch)
    }
    /// The task waiting for the replies to one entry: a request's one reply, or a batch's replies in order.
    struct Waiter: Sendable {
        enum Reply: Sendable {
            case one(CheckedContinuation<Message, any Error>)
            case batch(CheckedContinuation<FrameBatch, any Error>, count: Int)
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

/// A client's persistent framed connection on the client reactor, a ``ConnectionDriver`` over ``StreamFrames`` or,
/// on a seqpacket socket, ``Packets`` (each message one packet): writes queued requests, matches replies to them in
/// order, and passes frames nobody waits for on as pushed messages.
final class FramedClientSource: ConnectionDriver {
    private let requests: RequestQueue
    private let pushed: FrameSequence.Source
    private let onClose: @Sendable () -> Void
    private let address: String
    /// The requests written whose replies have not all come.
    private var replies: ReplyMatcher
    /// When requests with a timeout give up, by request ID.
    private var deadlines: [Int: (at: ContinuousClock.Instant, timeout: Duration)] = [:]
    private var isCheckingDeadlines = false
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []
    /// Why the connection closes, set just before it does; `nil`: the client closed it.
    private var closeReason: UnixSocketError?
    /// Why the server takes no more requests, once it does not (see ``outputFailed(_:)``): what the requests not
    /// answered by the end of input fail with.
    private var outputError: UnixSocketError?

    init(
        descriptor: CInt, reactor: Reactor, queue: RequestQueue, pushed: FrameSequence.Source,
        maximumFrameSize: Int, packets: Bool, framing: Framing = .lengthPrefixed, address: String,
        onClose: @escaping @Sendable () -> Void
    ) {
        self.requests = queue
        self.pushed = pushed
        self.address = address
        self.onClose = onClose
        // A length-prefixed stream carries frames in a batch's own form, so a batch's replies are copied in runs.
        replies = ReplyMatcher(copiesRuns: !packets && framing == .lengthPrefixed)
        let transport: any ConnectionTransport =
            packets
            ? Packets(maximumSize: maximumFrameSize, receiver: "this client", socket: address)
            : StreamFrames(framing, maximumFrameSize: maximumFrameSize)
        // Reading never waits for writing (the client's limits), which keeps replies flowing to a server that is
        // blocked on writing them.
        super.init(descriptor: descriptor, reactor: reactor, transport: transport, limits: .client)
    }

    func start() {
        adopt()
        readAvailable()
    }

    override func forceClose() { close(UnixSocketError(.connectionClosed, operation: .read, socket: address)) }

    /// Requests were queued: write them, then read at once if the replies tend to be there by then
    /// (``ConnectionDriver/readEagerly()``); otherwise reading waits for epoll to say the socket is readable.
    func drain() {
        flush()
        if replies.isWaiting { readEagerly() }
    }

    /// Moves what the callers queued to the outbound queue, and their waiters to the matcher, in order.
    override func willFlush() {
        for entry in requests.take() {
            switch entry.frames {
            case .framed(var frame): queue(framed: &frame)
            case .batch(let batch): batch.withUnsafeFrames { queue(framed: $0) }
            }
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

    override func fail(_ error: Errno) { close(failure(error)) }

    override func refuse(_ error: any Error) { close(failure(error)) }

    /// A write failed. When the server has gone (`EPIPE`, `ECONNRESET`), the replies it sent before are still in
    /// the socket: they are read on to the end of input, and only the requests they do not answer fail.
    override func outputFailed(_ error: Errno) {
        let failure: UnixSocketError
        if transport is Packets {
            let length = outbound.getInteger(at: outbound.readerIndex, as: UInt32.self).map(Int.init) ?? 0
            failure = PacketIO.sendFailure(error, bytes: length, descriptor: descriptor, socket: address)
        } else {
            failure = self.failure(error)
        }
        guard error == .brokenPipe || error == .connectionReset, isReading else { return close(failure) }
        stopTakingRequests(failure)
    }

    /// The server closed without reading all our requests. On a seqpacket socket the kernel says so before the
    /// replies still queued, so they are read on to the end of input, as after a failed write.
    override func readsOnAfterReset() -> Bool {
        stopTakingRequests(failure(Errno.connectionReset))
        return true
    }

    /// Writes no more, refuses new requests with `error`, and fails the ones queued but not yet written.
    private func stopTakingRequests(_ error: UnixSocketError) {
        guard outputError == nil else { return }
        outputError = error
        closeReason = error  // also when the client's own close comes first
        closeOutput()
        for entry in requests.close(error) { if let waiter = entry.waiter { fail(waiter, with: error) } }
    }

    override func inputEnded() {
        if let outputError { return close(outputError) }
        close(
            UnixSocketError(
                .connectionClosed, operation: .read, socket: address,
                detail: transport.hasPartialMessage
                    ? "the server closed inside a frame" : "the server closed the connection"))
    }

    override func received(_ bytes: UnsafeRawBufferPointer) throws {
        // The matcher is moved out while the frames are fed: one access to this object per read, not per frame.
        var matcher = ReplyMatcher.vacant
        swap(&matcher, &replies)
        defer {
            matcher.endOfRead(bytes)
            swap(&matcher, &replies)
        }
        if let frames = transport as? StreamFrames {  // statically dispatched, so the closure is specialized in
            let limit = frames.maximumFrameSize
            try frames.messages(
                in: bytes, takingRuns: { matcher.gatherRun(in: bytes, at: $0, maximumFrameSize: limit) }
            ) { payload, wire in
                if !matcher.gather(payload, wire: wire, in: bytes) { take(payload, wire: wire, in: bytes, &matcher) }
            }
        } else {
            try transport.messages(in: bytes) { payload, wire in take(payload, wire: wire, in: bytes, &matcher) }
        }
    }

    /// Matches one frame and acts on it: apart from the per-frame path of ``received(_:)``, whose closure would
    /// otherwise make room for an ``ReplyMatcher/Outcome`` (its size known only at run time) on every frame.
    @inline(never)
    private func take(
        _ payload: UnsafeRawBufferPointer, wire: Range<Int>?, in bytes: UnsafeRawBufferPointer,
        _ matcher: inout ReplyMatcher
    ) {
        deliver(matcher.match(payload, wire: wire, in: bytes), payload)
    }

    /// Acts on what ``ReplyMatcher`` made of one frame from the server: resumes the request it completes, or passes
    /// it on to ``FramedClient/incoming`` when no request waits.
    private func deliver(_ outcome: ReplyMatcher.Outcome, _ payload: UnsafeRawBufferPointer) {
        switch outcome {
        case .absorbed:
            return
        case .pushed:
            if pushed.yield(Message(buffer: ByteBuffer(bytes: payload))) != .produceMore { pauseReading() }
        case .reply(let id, let continuation, let reply):
            if !deadlines.isEmpty { deadlines[id] = nil }
            ThreadSanitizer.release(requests)
            continuation.resume(returning: reply)
        case .batch(let id, let continuation, let batch):
            if !deadlines.isEmpty { deadlines[id] = nil }
            ThreadSanitizer.release(requests)
            continuation.resume(returning: batch)
        case .dropped(let id):
            if !deadlines.isEmpty { deadlines[id] = nil }
        }
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
        ThreadSanitizer.release(requests)
        waiter.fail(error)
    }

    /// Closes after writing what is queued, reading replies meanwhile, then resumes `waiter`.
    func closeWhenFlushed(then waiter: CheckedContinuation<Void, Never>?) {
        if let waiter {
            guard !isClosed else { return waiter.resume() }
            closeWaiters.append(waiter)
        }
        closeWhenFlushed(readingMeanwhile: true)
    }

    /// Closes now, failing every request not yet answered with `error`.
    func close(_ error: UnixSocketError) {
        guard !isClosed else { return }
        closeReason = error
        close()
    }

    override func didClose() {
        let error =
            closeReason
            ?? UnixSocketError(
                .connectionClosed, operation: .close, socket: address, detail: "the client closed the connection")
        for entry in requests.close(error) { if let waiter = entry.waiter { fail(waiter, with: error) } }
        for waiter in replies.removeAll() { fail(waiter, with: error) }
        onClose()
        for waiter in closeWaiters { waiter.resume() }
        closeWaiters = []
    }
}
