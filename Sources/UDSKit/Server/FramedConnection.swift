import Logging
import NIOCore
import SystemPackage

/// One persistent framed connection on a reactor, over stream frames (``StreamFrames``) or seqpacket packets
/// (``Packets``, a message per packet): answers messages on the loop (echo, acknowledge) or hands them to a handler's
/// task, and writes what is queued, replies of one read burst in one write.
final class FramedConnection: ServerConnection {
    private enum Mode {
        case echo, acknowledge, discard
        case handler(Inbound, Outbox)
    }
    /// Where a handler's frames go: one at a time to its ``FrameSequence``, or a read at a time (``FrameBursts``).
    private enum Inbound {
        case frames(FrameSequence.Source)
        case bursts(FrameBursts)

        func finish(_ error: (any Error)?) {
            switch self {
            case .frames(let source): if let error { source.finish(error) } else { source.finish() }
            case .bursts(let bursts): bursts.finish(error)
            }
        }
    }
    private var mode: Mode = .discard

    init(descriptor: CInt, reactor: Reactor, core: ServerCore, transport: any ConnectionTransport) {
        super.init(
            descriptor: descriptor, reactor: reactor, core: core, transport: transport, limits: core.connectionLimits)
        if let packets = transport as? Packets {
            packets.onEmptyPacket = { [unowned self] in
                core.logger.warning(
                    "sent an empty reply as an empty packet, which the client cannot tell from the end of the connection",
                    metadata: peerMetadata())
            }
        }
    }

    /// Joins the reactor, starts the handler, and reads what the client has sent already.
    func start(_ handler: FramedHandler) {
        adopt()
        switch handler.kind {
        case .echo: mode = .echo
        case .acknowledge: mode = .acknowledge
        case .discard: mode = .discard
        case .connection(let body): startHandler(body, bursts: false)
        case .bursts(let body): startHandler(body, bursts: true)
        }
        readAvailable()
    }

    /// The idle timeout applies while the client owes the rest of a frame or is not taking our frames. A quiet
    /// connection between frames is left alone: persistent connections may idle.
    override func timedOut(_ timeout: Timeout, owed: Owed) {
        guard case .idle(let idle) = timeout else { return }
        var metadata = peerMetadata()
        metadata["uds.idle"] = "\(idle)"
        core.logger.warning(
            owed == .input
                ? "closing connection: the rest of a frame did not come"
                : "closing connection: the client does not read",
            metadata: metadata)
        close()
    }

    /// Stops reading: a handler sees its inbound frames end (a request handler answers what it has and returns),
    /// and the connection closes once its replies are written.
    override func beginGracefulClose() {
        guard isReading, !isClosed else { return }
        stopReading()
        endInput(nil)
    }

    // MARK: Reading

    override func received(_ bytes: UnsafeRawBufferPointer) throws {
        warnOfPassedDescriptors()
        // Counted once per read, not per frame: pipelined frames come by the thousand.
        var count = MessageCount()
        defer { if count.messages > 0 { core.counters.received(frames: count.messages, bytes: count.bytes) } }
        switch mode {
        case .echo:
            try echoMessages(in: bytes, count: &count)
        case .acknowledge:
            try transport.messages(in: bytes) { payload, _ in
                count.messages += 1
                count.bytes += payload.count
                var line = String(payload.count) + "\n"  // small: stored inline, no allocation
                line.withUTF8 { queue(UnsafeRawBufferPointer($0)) }
            }
        case .discard:
            var whole: Range<Int>?
            try transport.scan(bytes, whole: &whole, count: &count) { _ in }
        case .handler(.frames(let source), _):
            try transport.messages(in: bytes) { payload, _ in
                count.messages += 1
                count.bytes += payload.count
                if source.yield(Message(buffer: ByteBuffer(bytes: payload))) != .produceMore { pauseReading() }
            }
        case .handler(.bursts(let bursts), _):
            var frames = FrameBatch()
            // Handed over even when a malformed frame ends the read: the frames before it are answered.
            defer { if !frames.isEmpty, !bursts.deliver(frames) { pauseReading() } }
            try transport.messages(in: bytes) { payload, _ in
                count.messages += 1
                count.bytes += payload.count
                frames.append(bytes: payload)
            }
        }
    }

    /// A framed connection takes no descriptors: the reads closed any that came; say so, once per read.
    private func warnOfPassedDescriptors() {
        guard passed.wasTruncated else { return }
        passed = Passed()
        core.logger.warning(
            "closed descriptors passed on a \(transport is Packets ? "seqpacket" : "framed") connection, which takes none",
            metadata: ["uds.connection": "\(id)"])
    }

    /// The client closed its side: a frame cut short is logged; the connection closes once replies are out.
    override func inputEnded() {
        warnOfPassedDescriptors()
        stopReading()
        if transport.hasPartialMessage {
            core.logger.warning(
                "client closed inside a frame; the partial frame is dropped",
                metadata: peerMetadata())
        }
        endInput(nil)
    }

    /// The client closed without reading all our replies: its frames are handled all the same, the replies dropped.
    override func readsOnAfterReset() -> Bool {
        outputFailed(.connectionReset)
        return true
    }

    /// A malformed frame: log it, read no more, answer the frames before it, then close this connection only.
    override func refuse(_ error: any Error) {
        var metadata = peerMetadata()
        metadata["uds.error"] = "\(error)"
        core.logger.warning("closing connection: bad frame", metadata: metadata)
        stopReading()
        endInput(error)
    }

    /// A handler sees its inbound frames end (with `error`) and its task's end closes the connection; without a
    /// handler, the connection closes once its replies are out.
    private func endInput(_ error: (any Error)?) {
        if case .handler(let inbound, _) = mode {
            inbound.finish(error)
            flush()
        } else {
            closeWhenFlushed()
        }
    }

    // MARK: Writing

    /// The client no longer takes what we write (`EPIPE`, `ECONNRESET`): drop our replies but go on reading, so
    /// that every frame it sent before it closed is still handled; another error closes the connection.
    override func outputFailed(_ error: Errno) {
        if error == .messageTooLong {
            var metadata = peerMetadata()
            metadata["uds.send_buffer"] = "\(Syscall.sendBufferSize(descriptor) ?? 0)"
            core.logger.warning(
                "closing connection: a reply is larger than a packet this socket can send (SO_SNDBUF)",
                metadata: metadata)
        }
        guard error == .brokenPipe || error == .connectionReset else { return fail(error) }
        closeOutput()
        if case .handler(_, let outbox) = mode { outbox.markOutputClosed() }
    }

    /// Takes what the handler's task queued, while under the outbound limit.
    override func willFlush() {
        guard case .handler(_, let outbox) = mode, outboundCount < outboundLimit else { return }
        var queued = outbox.take()
        if queued.readableBytes > 0 { queue(framed: &queued) }
    }

    /// A handler's task queued frames.
    func drainOutbox() { flush() }

    // MARK: Handler

    private func startHandler(_ body: @escaping FramedHandler.Connection, bursts: Bool) {
        let connection = ReactorBound(self, on: reactor)
        let resume: @Sendable () -> Void = { connection.execute { $0.resumeReading() } }
        let outbox = Outbox(limit: outboundLimit)
        let frames: FramedServerConnection.Frames
        if bursts {
            let frameBursts = FrameBursts(resume: resume)
            mode = .handler(.bursts(frameBursts), outbox)
            frames = .bursts(frameBursts)
        } else {
            let inbound = FrameSequence.make(delegate: FramedInboundDelegate(resume: resume))
            mode = .handler(.frames(inbound.source), outbox)
            frames = .sequence(inbound.sequence)
        }
        let server = FramedServerConnection(
            frames: frames, context: core.context(forConnection: id, descriptor: descriptor), outbox: outbox,
            connection: connection, framing: transport.framing)
        let executor: (any TaskExecutor)? = core.configuration.runsHandlersOnEventLoop ? reactor : nil
        Task(executorPreference: executor) {
            do {
                try await body(server)
            } catch {
                server.context.logger.debug("connection handler ended", metadata: ["uds.error": "\(error)"])
            }
            server.close()
        }
    }

    // MARK: Closing

    override func didClose() {
        if case .handler(let inbound, let outbox) = mode {
            inbound.finish(UnixSocketError(.connectionClosed, operation: .read, detail: "the connection is closed"))
            outbox.close()
        }
        mode = .discard
        super.didClose()
    }
}
