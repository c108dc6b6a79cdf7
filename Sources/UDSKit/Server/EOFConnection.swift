import Logging
import NIOCore
import SystemPackage

/// One connection of the one-message-per-connection protocol: reads until the client half-closes, hands the bytes to
/// the server's ``MessageHandler``, writes the reply, closes. Lives on one reactor's thread.
///
/// The built-in handlers consume each read in place from the reactor's buffer; custom handlers get copies.
final class EOFConnection: ServerConnection {
    private enum Body {
        case count(replies: Bool)
        case echo
        case buffer
        case stream(MessageBody.Source?)
    }
    private var body: Body
    /// Counts the message and enforces its limit; keeps its bytes for a buffered handler.
    private var reader: EndOfStreamReader

    /// `handler` is the server's, which its core keeps (``handlerKind``): a connection holds only what it needs.
    init(descriptor: CInt, reactor: Reactor, core: ServerCore, handler: MessageHandler) {
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
        super.init(
            descriptor: descriptor, reactor: reactor, core: core, transport: UntilEndOfStream.shared,
            limits: core.connectionLimits)
    }

    /// Joins the reactor, starts the handler if it streams, then reads what the client has sent already.
    func start() {
        adopt()
        if case .streaming(let handler) = handlerKind { startStreamingHandler(handler) }
        readAvailable()
    }

    /// The idle timeout and the message deadline apply while the client still owes its message (or has not taken
    /// its echo); a handler that is slow is not the client's fault and is not timed out here.
    override var owedByPeer: Owed? {
        isReading && (!isPaused || outboundCount > 0) ? .input : nil
    }

    override func timedOut(_ timeout: Timeout, owed: Owed) {
        let reason =
            switch timeout {
            case .idle(let idle): "no data from the client for \(idle)"
            case .deadline(let deadline): "the message took longer than \(deadline)"
            }
        core.logger.warning("closing connection: \(reason)", metadata: ["uds.connection": "\(id)"])
        stopReading()
        if case .stream(let source) = body {
            source?.finish(UnixSocketError(.timedOut, operation: .read, detail: reason))
        }
        body = .count(replies: false)
        discardOutbound()
        writeAndClose(Acknowledgement.errorReply(reason).buffer)
    }

    // MARK: Reading

    override func received(_ bytes: UnsafeRawBufferPointer) {
        do {
            try reader.feed(bytes)
        } catch {
            return refuseTooLarge(limit: reader.maximumSize ?? 0)
        }
        switch body {
        case .count, .buffer:
            break
        case .echo:
            send(bytes)  // the read is a chunk of the message: it goes back as it is, one slice
        case .stream(let source):
            guard let source else { return }
            if source.yield(ByteBuffer(bytes: bytes)) != .produceMore { pauseReading() }
        }
    }

    /// The end of the message. While the handler runs, the connection is not watched at all (the driver's flush
    /// finds nothing to watch for), so that a hang-up, which epoll always reports, cannot wake the loop in vain.
    override func inputEnded() {
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
            closeWhenFlushed()
        case .buffer:
            body = .count(replies: false)
            startBufferedHandler(reader.finish())
        case .stream(let source):
            body = .stream(nil)
            source?.finish()
        }
    }

    private func refuseTooLarge(limit: Int) {
        core.logger.warning(
            "message refused: too large", metadata: ["uds.connection": "\(id)", "uds.limit": "\(limit)"])
        stopReading()
        if case .stream(let source) = body {
            source?.finish(UnixSocketError(.messageTooLarge, operation: .read, detail: "more than \(limit) bytes"))
        }
        body = .count(replies: false)
        discardOutbound()
        writeAndClose(Acknowledgement.errorReply("message exceeds the limit of \(limit) bytes").buffer)
    }

    // MARK: Writing

    /// Writes `reply` as far as the socket takes it now and closes once the rest is out.
    private func writeAndClose(_ reply: ByteBuffer) {
        guard !isClosed else { return }
        guard reply.readableBytes > 0 else { return close() }
        reply.withUnsafeReadableBytes { send($0) }
        closeWhenFlushed()
    }

    // MARK: Handlers

    private var handlerKind: MessageHandler.Kind? {
        if case .endOfStream(let handler) = core.wireProtocol { handler.kind } else { nil }
    }

    private func startBufferedHandler(_ message: Message) {
        guard case .buffered(let handler) = handlerKind else { return }
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
        stopReading()  // a streaming handler may answer before the message ended
        if case .stream(let source) = body {
            body = .stream(nil)
            source?.finish()
        }
        writeAndClose(reply)
    }

    // MARK: Closing

    override func didClose() {
        if case .stream(let source) = body, let source {
            source.finish(
                UnixSocketError(.connectionClosed, operation: .read, detail: "the client went away mid-message"))
        }
        body = .count(replies: false)
        super.didClose()
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
