import NIOCore
import SystemPackage

/// The reactor side of one connection, whatever it speaks: registration with its ``Reactor``, the read loop with
/// its budget, the bounded outbound queue and its flush, the idle and deadline ticks, and closing exactly once. How
/// bytes cross the socket is its ``ConnectionTransport``; what the messages mean is a subclass's (the server's
/// ``EOFConnection`` and ``FramedConnection``, the clients' ``ClientExchange`` and ``FramedClientSource``), which
/// overrides the hooks under "For subclasses".
///
/// Everything runs on the reactor's thread. The reactor holds the connection from ``adopt()`` until ``close()``;
/// the descriptor belongs to the connection, which closes it.
///
/// Two shortcuts every transport gets: a stream read shorter than the read buffer ends the read loop (the socket is
/// empty, so asking again would only get `EAGAIN`), and messages that lie whole in one read are echoed as one slice
/// of the read buffer, without a copy (``echoMessages(in:count:)``).
class ConnectionDriver: ReactorSource {
    // Stored properties are laid out in this order: the small ones sit together so that a connection, which a
    // server may hold tens of thousands of, stays small.
    let reactor: Reactor
    let transport: any ConnectionTransport
    /// Shared with every connection that has the same limits.
    let limits: ConnectionLimits
    let descriptor: CInt
    /// Reads that found bytes, the end of the input or a refusal: how ``readEagerly()`` tells whether it found any.
    private var readsThatFound: UInt32 = 0
    /// Bytes waiting for room in the socket's send buffer.
    private var queued = OutboundQueue()
    /// Still reading (false after the end of input, a refusal, or a close that waits for the queue).
    private(set) var isReading = true
    /// Reading waits for the consumer (a handler or an application) to take what was read.
    private(set) var isPaused = false
    private var closesWhenFlushed = false
    private var shutsDownWriteWhenFlushed = false
    /// Our side is shut down for writing (a half-close): the peer reads the end of stream.
    private(set) var isWriteShut = false
    /// Inside ``flush()``: a flush asked for by a hook it calls waits for the outer one, which acts on the flags.
    private var isFlushing = false
    /// The peer stopped taking our bytes (`EPIPE`, `ECONNRESET`); what is queued now is dropped.
    private(set) var isOutputClosed = false
    private(set) var isClosed = false
    /// Descriptors passed with what was read, up to ``ConnectionLimits/descriptorLimit`` (the rest are closed).
    var passed = Passed()
    private let openedAt: ClockTime
    /// When the peer last sent bytes or took some of ours: the idle timeout runs from here.
    private var lastProgressAt: ClockTime

    /// Reads per readiness event before the other connections get a turn.
    static let readBudget = 16
    /// Reading pauses while this many bytes or more wait to be written (1: while any do).
    var outboundLimit: Int { limits.outboundLimit }
    /// The bytes waiting for room in the socket's send buffer, in the transport's queue form.
    var outbound: ByteBuffer { queued.bytes }
    /// How many bytes wait (``outbound``'s count, without a copy of the buffer).
    var outboundCount: Int { queued.count }
    /// Descriptors to pass with the next bytes written (stream transports); they stay open, the caller closes them.
    var descriptorsToSend: [CInt] {
        get { queued.descriptorsToSend }
        set { queued.descriptorsToSend = newValue }
    }

    /// The connection owns `descriptor` from here and closes it; it joins `reactor` at ``adopt()``.
    init(descriptor: CInt, reactor: Reactor, transport: any ConnectionTransport, limits: ConnectionLimits) {
        self.descriptor = descriptor
        self.reactor = reactor
        self.transport = transport
        self.limits = limits
        openedAt = .now
        lastProgressAt = openedAt
    }

    /// Hands the descriptor to the reactor; it is watched from the first ``flush()`` that needs it.
    func adopt() { reactor.adopt(descriptor, self) }

    var canRead: Bool { isReading && !isPaused && queued.count < outboundLimit && !isClosed }

    // MARK: ReactorSource

    func handle(_ events: Epoll.Events) {
        let hungUp = !events.isDisjoint(with: [.error, .hangUp])
        // Reading was not watched while the queue was over its limit: what came meanwhile is read once it drains.
        let wasWatchingReads = canRead
        if events.contains(.writable) || hungUp && !queued.isEmpty {
            queued.isSocketFull = false
            flush()
        }
        // A writable event alone says nothing about input: a read then would only get EAGAIN.
        if canRead && (events.contains(.readable) || hungUp || !wasWatchingReads) { readAvailable() }
    }

    func forceClose() { close() }

    func beginGracefulClose() {}

    /// Times the connection out when the peer owes something (``owedByPeer``) and made no progress for the idle
    /// timeout, or the message deadline has passed.
    func tick(now: ContinuousClock.Instant) {
        guard !isClosed, limits.idleTimeout != nil || limits.messageDeadline != nil, let owed = owedByPeer else {
            return
        }
        let now = ClockTime(now)
        if let idle = limits.idleTimeout, lastProgressAt.isMoreThan(idle, before: now) {
            timedOut(.idle(idle), owed: owed)
        } else if let deadline = limits.messageDeadline, openedAt.isMoreThan(deadline, before: now) {
            timedOut(.deadline(deadline), owed: owed)
        }
    }

    // MARK: Reading

    /// Reads while it may, up to ``readBudget`` reads, handing each to ``received(_:)``; then flushes.
    func readAvailable() {
        let buffer = reactor.readBuffer
        var reads = 0
        var wasReset = false
        loop: while canRead {
            let read: TransportRead
            do {
                read = try transport.receive(descriptor, into: buffer, passed: &passed, limit: limits.descriptorLimit)
            } catch {
                // The kernel reports a reset once; a second one would be a loop.
                guard error == .connectionReset, !wasReset, readsOnAfterReset() else { return fail(error) }
                wasReset = true
                continue
            }
            switch read {
            case .wouldBlock:
                break loop
            case .end:
                readsThatFound &+= 1
                inputEnded()
                break loop
            case .tooLarge(let error):
                readsThatFound &+= 1
                refuse(error)
                break loop
            case .data(let count):
                readsThatFound &+= 1
                if limits.idleTimeout != nil { lastProgressAt = .now }
                do {
                    try received(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                } catch {
                    refuse(error)
                    break loop
                }
                reads += 1
                if reads == Self.readBudget || transport.stopsAtShortRead && count < buffer.count { break loop }
            }
        }
        flush()
    }

    /// Reads at once, before epoll says there is anything, when that has tended to find something on this reactor
    /// (``EagerRead``): for a client that has just written a request whose reply may already be there. Flushes
    /// either way, which watches the socket for what is still needed.
    func readEagerly() {
        guard canRead, reactor.eagerRead.shouldTry() else { return flush() }
        let before = readsThatFound
        readAvailable()
        reactor.eagerRead.record(found: readsThatFound != before)
    }

    /// No more reading; the caller flushes or closes.
    func stopReading() { isReading = false }

    /// The consumer is full: read no more until ``resumeReading()``.
    func pauseReading() { isPaused = true }

    /// The consumer wants more: read again.
    func resumeReading() {
        guard isPaused, !isClosed else { return }
        isPaused = false
        readAvailable()
    }

    // MARK: Writing

    /// Sends `wire` (whole messages in the transport's wire form) now if nothing is queued before it, and queues
    /// what the socket does not take.
    func send(_ wire: UnsafeRawBufferPointer) {
        guard !isOutputClosed, !isClosed else { return }
        do {
            try queued.send(wire, to: descriptor, over: transport) { sentBytes($0) }
        } catch {
            outputFailed(error)
        }
    }

    /// Queues `payload` as one message, marked out as the transport sends it.
    func queue(_ payload: UnsafeRawBufferPointer) { queued.append(payload, for: transport) }

    /// Queues bytes already in the transport's queue form (messages a handler's task framed, a chunk of a message);
    /// into an empty queue they go without a copy.
    func queue(framed: inout ByteBuffer) { queued.take(&framed) }

    /// Queues a copy of bytes already in the transport's queue form.
    func queue(framed: UnsafeRawBufferPointer) { queued.append(queueForm: framed) }

    /// Echoes every message in the read `bytes`, counting them into `count`: the ones that lie whole in it go back
    /// as one slice of it, without a copy; a message gathered from earlier reads is queued. Messages before a
    /// malformed one are echoed too: the slice goes out even when decoding then throws.
    func echoMessages(in bytes: UnsafeRawBufferPointer, count: inout MessageCount) throws {
        var whole: Range<Int>?
        defer { if let whole { send(UnsafeRawBufferPointer(rebasing: bytes[whole])) } }
        try transport.scan(bytes, whole: &whole, count: &count) { queue($0) }
    }

    /// Writes what is queued as far as the socket takes it, closes if that was all it waited for, and watches for
    /// what is needed next.
    func flush() {
        guard !isClosed, !isFlushing else { return }
        isFlushing = true
        defer { isFlushing = false }
        willFlush()
        writeOutbound()
        if isClosed { return }
        if queued.isEmpty && closesWhenFlushed { return close() }
        var interest: Epoll.Events = []
        if canRead { interest.insert(.readable) }
        if !queued.isEmpty { interest.insert(.writable) }
        if interest.isEmpty {
            reactor.unwatch(descriptor)
        } else {
            do {
                try reactor.watch(descriptor, interest)
            } catch {
                fail(error)
            }
        }
    }

    /// Writes what is queued as far as the socket takes it, asking ``refill()`` for more each time the queue runs
    /// empty, then shuts down writing if ``shutDownWriteWhenFlushed()`` asked for it. It does not watch: the task
    /// that owns a connection not yet adopted may call it to write inline.
    func writeOutbound() {
        while !isClosed {
            if isOutputClosed {
                queued.removeAll()
                break
            }
            if queued.isEmpty {
                refill()
                if queued.isEmpty || isClosed { break }
            }
            if queued.isSocketFull { break }
            do {
                try queued.write(to: descriptor, over: transport) { sentBytes($0) }
            } catch {
                outputFailed(error)  // closes, or closes the output and drops the queue
                break
            }
            if queued.isSocketFull { break }
        }
        guard !isClosed, !isOutputClosed, !isWriteShut, shutsDownWriteWhenFlushed, queued.isEmpty else {
            return
        }
        do {
            try Syscall.shutdownWrite(descriptor)
            isWriteShut = true
        } catch {
            outputFailed(error)
        }
    }

    private func sentBytes(_ count: Int) {
        didSend(count)
        if count > 0 && limits.idleTimeout != nil { lastProgressAt = .now }
    }

    /// Drops what is queued (a timeout or a refusal that answers with an error instead).
    func discardOutbound() {
        queued.removeAll()
    }

    /// The peer takes no more of our bytes: drop what is queued and what is sent from now on, but go on reading.
    func closeOutput() {
        isOutputClosed = true
        discardOutbound()
    }

    // MARK: Closing

    /// Closes once everything queued has been written; reads no more meanwhile unless `readingMeanwhile` (a client
    /// that must keep taking replies so that a server blocked on writing them goes on reading its requests).
    func closeWhenFlushed(readingMeanwhile: Bool = false) {
        guard !isClosed else { return }
        closesWhenFlushed = true
        if !readingMeanwhile { isReading = false }
        flush()
    }

    /// Shuts down writing (a half-close: the peer reads the end of stream) once everything queued is written. Sets a
    /// flag only; the next ``flush()`` or ``writeOutbound()`` acts on it.
    func shutDownWriteWhenFlushed() { shutsDownWriteWhenFlushed = true }

    /// Closes now, exactly once: forgets the descriptor in the reactor, closes it, then calls ``didClose()``.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        queued.removeAll()
        reactor.release(descriptor)
        Syscall.close(descriptor)
        didClose()
    }

    // MARK: For subclasses

    /// What the peer owes: ``Owed/input`` while part of a message has come, ``Owed/output`` while it does not
    /// take what is queued; `nil` when a quiet peer is fine. Timeouts apply only while it owes something.
    var owedByPeer: Owed? {
        if isReading && transport.hasPartialMessage { return .input }
        return queued.isEmpty ? nil : .output
    }

    enum Owed { case input, output }
    enum Timeout {
        case idle(Duration), deadline(Duration)
    }

    /// A read's bytes (one packet for ``Packets``), valid only during the call. Throwing refuses the input.
    func received(_ bytes: UnsafeRawBufferPointer) throws {}

    /// The peer closed its side. Default: close.
    func inputEnded() { close() }

    /// A read failed with `ECONNRESET`: the peer closed without reading all we sent. The bytes it sent before are
    /// still to be read: a stream socket reports the reset after them, a packet socket before them, and the end of
    /// input follows. Return true to read on (having dropped the output); default: false, and ``fail(_:)``.
    func readsOnAfterReset() -> Bool { false }

    /// The input is malformed (a bad frame, a packet too large). Default: close.
    func refuse(_ error: any Error) { close() }

    /// Called at the start of every ``flush()``: a chance to queue what other threads handed over.
    func willFlush() {}

    /// The outbound queue ran empty while writing: a chance to queue the next part of a message (a file's next
    /// chunk).
    func refill() {}

    /// A write failed. Default: ``fail(_:)``.
    func outputFailed(_ error: Errno) { fail(error) }

    /// A system call failed. Default: close.
    func fail(_ error: Errno) { close() }

    /// The peer owes something past a timeout. Default: close.
    func timedOut(_ timeout: Timeout, owed: Owed) { close() }

    /// The socket took `count` payload bytes (0 when it was full).
    func didSend(_ count: Int) {}

    /// The connection has closed; release what the subclass holds.
    func didClose() {}
}
