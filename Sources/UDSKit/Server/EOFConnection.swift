import Logging
import NIOCore
import SystemPackage

/// One connection of the one-message-per-connection protocol: reads until the client half-closes, hands the bytes to
/// the server's ``MessageHandler``, writes the reply, closes. Lives on one reactor's thread.
///
/// The built-in handlers consume each read in place from the reactor's buffer; custom handlers get copies.
final class EOFConnection: ReactorSource {
    private let descriptor: CInt
    private let reactor: Reactor
    private let core: ServerCore
    private let id: Int

    private enum Body {
        case count(replies: Bool)
        case echo
        case buffer
        case stream(MessageBody.Source?)
    }
    private let handler: MessageHandler
    private var body: Body
    /// Counts the message and enforces its limit; keeps its bytes for a buffered handler.
    private var reader: EndOfStreamReader
    /// Descriptors the client passed with its message.
    private var passed = Passed()
    /// Still reading the message (false after end of stream, a refusal, or the handler's early reply).
    private var isReading = true
    /// Reading waits for the handler (streaming) or for the client to take its echo.
    private var isPaused = false
    /// Bytes waiting for room in the socket's send buffer.
    private var outbound: ByteBuffer?
    private var closesAfterWrite = false
    private var isClosed = false
    private let acceptedAt = ContinuousClock.now
    /// When the client last sent bytes or took some of its echo: the idle timeout runs from here.
    private var lastProgressAt = ContinuousClock.now

    init(descriptor: CInt, reactor: Reactor, core: ServerCore, handler: MessageHandler) {
        self.descriptor = descriptor
        self.reactor = reactor
        self.core = core
        self.handler = handler
        self.id = core.connections.add()
        core.counters.connectionOpened()
        switch handler.kind {
        case .acknowledge: body = .count(replies: true)
        case .discard: body = .count(replies: false)
        case .echo: body = .echo
        case .buffered: body = .buffer
        case .streaming: body = .stream(nil)
        }
        let isBuffered = if case .buffer = body { true } else { false }
        reader = EndOfStreamReader(
            maximumSize: isBuffered
                ? core.configuration.maximumMessageSize : core.configuration.maximumStreamedMessageSize,
            keepsBytes: isBuffered)
    }

    /// Starts the handler if it streams, then reads what the client has sent already.
    func start() {
        if case .streaming(let handler) = handler.kind { startStreamingHandler(handler) }
        readAvailable()
    }

    func handle(_ events: Epoll.Events) {
        if events.contains(.writable) || (outbound != nil && !events.isDisjoint(with: [.error, .hangUp])) {
            flush()
        }
        if isReading && !isPaused && !isClosed { readAvailable() }
    }

    func forceClose() { close() }

    /// Enforces the idle timeout and the message deadline while the client still owes its message (or has not
    /// taken its echo); a handler that is slow is not the client's fault and is not timed out here.
    func tick(now: ContinuousClock.Instant) {
        guard isReading, !isClosed, !isPaused || outbound != nil else { return }
        let configuration = core.configuration
        if let idle = configuration.idleTimeout, now - lastProgressAt > idle {
            timeOut("no data from the client for \(idle)")
        } else if let deadline = configuration.messageDeadline, now - acceptedAt > deadline {
            timeOut("the message took longer than \(deadline)")
        }
    }

    private func timeOut(_ reason: String) {
        core.logger.warning("closing connection: \(reason)", metadata: ["uds.connection": "\(id)"])
        stopReading()
        if case .stream(let source) = body {
            source?.finish(UnixSocketError(.timedOut, operation: .read, detail: reason))
        }
        body = .count(replies: false)
        outbound = nil
        writeAndClose(Acknowledgement.errorReply(reason).buffer)
    }

    // MARK: Reading

    private func readAvailable() {
        var reads = 0
        while isReading && !isPaused && !isClosed {
            let count: Int?
            do {
                count = try Syscall.receive(
                    descriptor, into: reactor.readBuffer, passed: &passed,
                    limit: core.configuration.maximumDescriptorsPerMessage)
            } catch {
                fail(error)
                return
            }
            guard let count else { return watch([.readable]) }
            if count == 0 { return endOfMessage() }
            if core.configuration.idleTimeout != nil { lastProgressAt = .now }
            consume(UnsafeRawBufferPointer(rebasing: reactor.readBuffer[..<count]))
            reads += 1
            if reads == 16 { return watch([.readable]) }  // let the other connections have a turn
        }
    }

    private func consume(_ bytes: UnsafeRawBufferPointer) {
        do {
            try reader.feed(bytes)
        } catch {
            return refuse(limit: reader.maximumSize ?? 0)
        }
        switch body {
        case .count, .buffer:
            break
        case .echo:
            write(bytes)
        case .stream(let source):
            guard let source else { return }
            if source.yield(ByteBuffer(bytes: bytes)) != .produceMore { pause() }
        }
    }

    private func endOfMessage() {
        stopReading()
        core.counters.received(message: reader.count)
        if passed.wasTruncated {
            core.logger.warning(
                "closed descriptors passed past the limit",
                metadata: [
                    "uds.connection": "\(id)", "uds.limit": "\(core.configuration.maximumDescriptorsPerMessage)",
                ])
        }
        if case .buffer = body {
        } else if !passed.descriptors.isEmpty {
            core.logger.warning(
                "closed descriptors passed to a handler that takes none",
                metadata: ["uds.connection": "\(id)", "uds.count": "\(passed.descriptors.count)"])
            passed.descriptors = []
        }
        switch body {
        case .count(let replies):
            if replies { writeAndClose(Acknowledgement.reply(forByteCount: reader.count).buffer) } else { close() }
        case .echo:
            if outbound == nil { close() } else { closesAfterWrite = true }
        case .buffer:
            body = .count(replies: false)
            startBufferedHandler(reader.finish())
        case .stream(let source):
            body = .stream(nil)
            source?.finish()
        }
    }

    /// No more reading: the message ended, was refused, or the handler replied. While the handler runs, the
    /// connection is not watched at all, so that a hang-up, which epoll always reports, cannot wake the loop in vain.
    private func stopReading() {
        isReading = false
        reactor.unwatch(descriptor)
    }

    private func pause() {
        isPaused = true
        reactor.unwatch(descriptor)
    }

    /// The streaming handler wants more: read again.
    func resumeReading() {
        guard isPaused, outbound == nil else { return }
        isPaused = false
        readAvailable()
    }

    private func refuse(limit: Int) {
        core.logger.warning(
            "message refused: too large", metadata: ["uds.connection": "\(id)", "uds.limit": "\(limit)"])
        stopReading()
        if case .stream(let source) = body {
            source?.finish(UnixSocketError(.messageTooLarge, operation: .read, detail: "more than \(limit) bytes"))
        }
        body = .count(replies: false)
        outbound = nil
        writeAndClose(Acknowledgement.errorReply("message exceeds the limit of \(limit) bytes").buffer)
    }

    // MARK: Writing

    /// Writes `bytes` now as far as the socket takes them; keeps the rest and pauses reading until it is out.
    private func write(_ bytes: UnsafeRawBufferPointer) {
        let written: Int
        do {
            written = try Syscall.sendNonBlocking(descriptor, bytes)
        } catch {
            return fail(error)
        }
        core.counters.sent(written)
        guard written < bytes.count else { return }
        outbound = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[written...]))
        isPaused = true
        watch([.writable])
    }

    private func writeAndClose(_ reply: ByteBuffer) {
        guard !isClosed else { return }
        closesAfterWrite = true
        guard reply.readableBytes > 0 else { return close() }
        reply.withUnsafeReadableBytes { write($0) }
        if outbound == nil && !isClosed { close() }
    }

    private func flush() {
        guard var pending = outbound, !isClosed else { return }
        let written: Int
        do {
            written = try pending.withUnsafeReadableBytes { raw throws(Errno) in
                try Syscall.sendNonBlocking(descriptor, raw)
            }
        } catch {
            return fail(error)
        }
        pending.moveReaderIndex(forwardBy: written)
        core.counters.sent(written)
        if written > 0 { lastProgressAt = .now }
        guard pending.readableBytes == 0 else {
            outbound = pending
            return
        }
        outbound = nil
        if closesAfterWrite { return close() }
        isPaused = false
        readAvailable()
    }

    private func watch(_ events: Epoll.Events) {
        do {
            try reactor.watch(descriptor, events)
        } catch {
            fail(error)
        }
    }

    // MARK: Handlers

    private func startBufferedHandler(_ message: Message) {
        guard case .buffered(let handler) = handler.kind else { return }
        let context = core.context(forConnection: id, descriptor: descriptor, passed: passed.descriptors)
        passed.descriptors = []
        let connection = ReactorBound(self, on: reactor)
        runHandler(context: context, connection: connection) { try await handler(message, context) }
    }

    private func startStreamingHandler(_ handler: @escaping MessageHandler.Streaming) {
        let connection = ReactorBound(self, on: reactor)
        let (message, source) = MessageBody.make(delegate: StreamingBodyDelegate(connection: connection))
        body = .stream(source)
        let context = core.context(forConnection: id, descriptor: descriptor)
        runHandler(context: context, connection: connection) { try await handler(message, context) }
    }

    fileprivate func handlerReplied(_ reply: ByteBuffer) {
        guard !isClosed else { return }
        if isReading { stopReading() }  // a streaming handler may answer before the message ended
        if case .stream(let source) = body {
            body = .stream(nil)
            source?.finish()
        }
        writeAndClose(reply)
    }

    // MARK: Closing

    private func fail(_ error: Errno) {
        core.logger.debug("connection failed", metadata: ["uds.connection": "\(id)", "uds.error": "\(error)"])
        close()
    }

    private func close() {
        guard !isClosed else { return }
        isClosed = true
        if case .stream(let source) = body, let source {
            source.finish(
                UnixSocketError(.connectionClosed, operation: .read, detail: "the client went away mid-message"))
        }
        body = .count(replies: false)
        outbound = nil
        reactor.release(descriptor)
        Syscall.close(descriptor)
        core.counters.connectionClosed()
        core.connections.remove()
    }
}

/// Runs a handler as a task and hands its reply, or the error reply for what it threw, back to the connection.
private func runHandler(
    context: MessageContext,
    connection: ReactorBound<EOFConnection>,
    _ handler: @escaping @Sendable () async throws -> Message
) {
    Task {
        let reply: ByteBuffer
        let started = ContinuousClock.now
        do {
            reply = try await handler().buffer
        } catch {
            context.logger.warning("handler failed", metadata: ["uds.error": "\(error)"])
            context.counters.handlerFailed()
            reply = errorReply(for: error).buffer
        }
        context.counters.handlerFinished(startedAt: started)
        connection.execute { $0.handlerReplied(reply) }
    }
}

/// Resumes reading on the connection's reactor when the streaming handler has taken enough chunks.
struct StreamingBodyDelegate: NIOAsyncSequenceProducerDelegate {
    let connection: ReactorBound<EOFConnection>

    func produceMore() { connection.execute { $0.resumeReading() } }

    func didTerminate() {}
}
