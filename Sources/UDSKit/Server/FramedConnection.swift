import Logging
import NIOCore
import SystemPackage

/// One persistent framed connection on a reactor: decodes frames as they arrive, answers them on the loop (echo,
/// acknowledge) or hands them to a handler's task, and writes what is queued, replies of one read burst in one write.
///
/// On a seqpacket socket (`packets`) each packet is a message, so there is nothing to decode: a read is one message
/// and each reply goes out as one packet. Queues hold replies length-prefixed either way.
final class FramedConnection: ReactorSource {
    private let descriptor: CInt
    private let reactor: Reactor
    private let core: ServerCore
    private let id: Int
    private var decoder: FramingDecoder
    /// How messages are marked out; always length-prefixed in the queues of a seqpacket connection.
    private let framing: Framing
    private let outboundLimit: Int
    /// A seqpacket connection: a message per packet instead of frames in a byte stream.
    private let packets: Bool
    private var warnedOfEmptyPacket = false

    private enum Mode {
        case echo, acknowledge, discard
        case handler(FrameSequence.Source, Outbox)
    }
    private var mode: Mode = .discard
    private var isReading = true
    /// Reading waits: for the handler to take frames, or for the client to take what we wrote.
    private var isPausedForHandler = false
    /// Bytes waiting for room in the socket's send buffer.
    private var outbound = ByteBuffer()
    private var closesWhenFlushed = false
    /// The client stopped taking our frames; replies are dropped while its frames are still read.
    private var isOutputClosed = false
    private var isClosed = false
    /// When the client last sent bytes or took some of ours: the idle timeout runs from here.
    private var lastProgressAt = ContinuousClock.now

    init(descriptor: CInt, reactor: Reactor, core: ServerCore, packets: Bool) {
        self.descriptor = descriptor
        self.packets = packets
        self.reactor = reactor
        self.core = core
        self.id = core.connections.add()
        core.counters.connectionOpened()
        self.framing = packets ? .lengthPrefixed : core.configuration.framing
        self.decoder = FramingDecoder(framing, maximumFrameSize: core.configuration.maximumFrameSize)
        self.outboundLimit = core.configuration.maximumOutboundBytes
    }

    func start(_ handler: FramedHandler) {
        switch handler.kind {
        case .echo: mode = .echo
        case .acknowledge: mode = .acknowledge
        case .discard: mode = .discard
        case .connection(let body): startHandler(body)
        }
        readAvailable()
    }

    func handle(_ events: Epoll.Events) {
        if events.contains(.writable) || !events.isDisjoint(with: [.error, .hangUp]) && outbound.readableBytes > 0 {
            flush()
        }
        if canRead { readAvailable() }
    }

    func forceClose() { close() }

    /// Enforces the idle timeout while the client owes the rest of a frame or is not taking our frames. A quiet
    /// connection between frames is left alone: persistent connections may idle.
    func tick(now: ContinuousClock.Instant) {
        guard !isClosed, let idle = core.configuration.idleTimeout, now - lastProgressAt > idle else { return }
        let midFrame = isReading && decoder.hasPartialFrame
        guard midFrame || outbound.readableBytes > 0 else { return }
        var metadata = peerMetadata()
        metadata["uds.idle"] = "\(idle)"
        core.logger.warning(
            midFrame
                ? "closing connection: the rest of a frame did not come"
                : "closing connection: the client does not read",
            metadata: metadata)
        close()
    }

    /// Stops reading: a handler sees its inbound frames end (a request handler answers what it has and returns),
    /// and the connection closes once its replies are written.
    func beginGracefulClose() {
        guard isReading, !isClosed else { return }
        isReading = false
        if case .handler(let source, _) = mode {
            source.finish()
            flush()
        } else {
            closeWhenFlushed()
        }
    }

    private var canRead: Bool {
        isReading && !isPausedForHandler && outbound.readableBytes < outboundLimit && !isClosed
    }

    // MARK: Reading

    private func readAvailable() {
        if packets { return readPackets() }
        var reads = 0
        while canRead {
            let count: Int?
            do {
                var passed = Passed()
                count = try Syscall.receive(descriptor, into: reactor.readBuffer, passed: &passed, limit: 0)
                if passed.wasTruncated {
                    core.logger.warning(
                        "closed descriptors passed on a framed connection, which takes none",
                        metadata: ["uds.connection": "\(id)"])
                }
            } catch {
                return fail(error)
            }
            guard let count else { break }
            if count == 0 { return endOfStream() }
            if core.configuration.idleTimeout != nil { lastProgressAt = .now }
            do {
                try decode(UnsafeRawBufferPointer(rebasing: reactor.readBuffer[..<count]))
            } catch {
                return refuse(error)
            }
            reads += 1
            // A read that did not fill the buffer emptied the socket: asking again would only get EAGAIN. The
            // level-triggered epoll reports whatever comes next. (Saves one recvmsg per ping-pong round trip.)
            if reads == 16 || count < reactor.readBuffer.count { break }
        }
        flush()
    }

    /// Reads packets, each one message, up to 16 before the replies are flushed.
    private func readPackets() {
        let limit = min(core.configuration.maximumFrameSize, reactor.readBuffer.count)
        for _ in 0..<16 where canRead {
            let packet: ReceivedPacket?
            var passed = Passed()
            do {
                packet = try Syscall.receivePacket(descriptor, into: reactor.readBuffer, passed: &passed, limit: 0)
            } catch {
                return fail(error)
            }
            if passed.wasTruncated {
                core.logger.warning(
                    "closed descriptors passed on a seqpacket connection, which takes none",
                    metadata: ["uds.connection": "\(id)"])
            }
            guard let packet else { break }
            // An empty packet cannot be told from the end of the connection; both read as 0 bytes.
            if packet.length == 0 { return endOfStream() }
            if core.configuration.idleTimeout != nil { lastProgressAt = .now }
            guard !packet.isTruncated, packet.length <= limit else {
                return refuse(
                    UnixSocketError(
                        .messageTooLarge, operation: .read,
                        detail: "a packet of \(packet.length) bytes; this server takes at most \(limit) "
                            + "(maximumFrameSize, maximumReadSize)"))
            }
            do {
                try decode(UnsafeRawBufferPointer(rebasing: reactor.readBuffer[..<packet.length]))
            } catch {
                return refuse(error)
            }
        }
        flush()
    }

    /// Calls `body` with each message in `bytes`: the frames it completes, or on a seqpacket connection the packet.
    private func forEachMessage(
        in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        if packets {
            try body(bytes)
        } else {
            try decoder.feed(bytes, body)
        }
    }

    private func decode(_ bytes: UnsafeRawBufferPointer) throws {
        // Counted once per read, not per frame: pipelined frames come by the thousand.
        var frames = 0
        var payloadBytes = 0
        defer {
            if frames > 0 {
                core.counters.received(frames: frames, bytes: payloadBytes)
            }
        }
        switch mode {
        case .echo where packets:
            frames += 1
            payloadBytes += bytes.count
            outbound.writeInteger(UInt32(bytes.count))
            outbound.writeBytes(bytes)
        case .echo:
            // Frames that lie whole in this read go back as one slice of the read buffer, without a copy.
            var inPlace: Range<Int>?
            // Frames before a malformed one are answered too: the slice goes out even when decoding then fails.
            defer { if let inPlace { send(UnsafeRawBufferPointer(rebasing: bytes[inPlace])) } }
            try decoder.feed(bytes) { (payload: UnsafeRawBufferPointer, frame: Range<Int>?) in
                frames += 1
                payloadBytes += payload.count
                if let frame {
                    inPlace = (inPlace?.lowerBound ?? frame.lowerBound)..<frame.upperBound
                } else {
                    framing.append(payload, to: &outbound)
                }
            }
        case .acknowledge:
            try forEachMessage(in: bytes) { payload in
                frames += 1
                payloadBytes += payload.count
                var count = String(payload.count) + "\n"  // small: stored inline, no allocation
                count.withUTF8 { framing.append(UnsafeRawBufferPointer($0), to: &outbound) }
            }
        case .discard:
            try forEachMessage(in: bytes) { payload in
                frames += 1
                payloadBytes += payload.count
            }
        case .handler(let source, _):
            try forEachMessage(in: bytes) { payload in
                frames += 1
                payloadBytes += payload.count
                if source.yield(Message(buffer: ByteBuffer(bytes: payload))) != .produceMore {
                    isPausedForHandler = true
                }
            }
        }
    }

    /// The client closed its side: a frame cut short is logged; the connection closes once replies are out.
    private func endOfStream() {
        isReading = false
        if decoder.hasPartialFrame {
            core.logger.warning(
                "client closed inside a frame; the partial frame is dropped",
                metadata: peerMetadata())
        }
        if case .handler(let source, _) = mode {
            source.finish()  // the handler's task ends and closes the connection
            flush()
        } else {
            closeWhenFlushed()
        }
    }

    /// A malformed frame: log it with the peer, and close this connection only.
    /// A malformed frame: log it, read no more, answer the frames before it, then close this connection only.
    private func refuse(_ error: any Error) {
        var metadata = peerMetadata()
        metadata["uds.error"] = "\(error)"
        core.logger.warning("closing connection: bad frame", metadata: metadata)
        isReading = false
        if case .handler(let source, _) = mode {
            source.finish(error)  // the handler answers the frames it has, then its end closes the connection
            flush()
        } else {
            closeWhenFlushed()
        }
    }

    private func peerMetadata() -> Logger.Metadata {
        var metadata: Logger.Metadata = ["uds.connection": "\(id)"]
        if let peer = try? PeerCredentials.of(descriptor: descriptor) {
            metadata["uds.peer_pid"] = "\(peer.processID)"
            metadata["uds.peer_uid"] = "\(peer.userID)"
        }
        return metadata
    }

    /// The handler took enough frames: read again.
    func resumeReading() {
        guard isPausedForHandler, !isClosed else { return }
        isPausedForHandler = false
        readAvailable()
    }

    // MARK: Writing

    /// Sends `bytes` now if nothing is queued before them, and queues what the socket does not take.
    private func send(_ bytes: UnsafeRawBufferPointer) {
        guard !isOutputClosed else { return }
        var rest = bytes
        if outbound.readableBytes == 0 {
            do {
                let written = try Syscall.sendNonBlocking(descriptor, bytes)
                core.counters.sent(written)
                rest = UnsafeRawBufferPointer(rebasing: bytes[written...])
            } catch {
                return outputFailed(error)
            }
        }
        if !rest.isEmpty { outbound.writeBytes(rest) }
    }

    /// The client no longer takes what we write (`EPIPE`, `ECONNRESET`): drop our replies but go on reading, so
    /// that every frame it sent before it closed is still handled; another error closes the connection.
    private func outputFailed(_ error: Errno) {
        if error == .messageTooLong {
            var metadata = peerMetadata()
            metadata["uds.send_buffer"] = "\(Syscall.sendBufferSize(descriptor) ?? 0)"
            core.logger.warning(
                "closing connection: a reply is larger than a packet this socket can send (SO_SNDBUF)",
                metadata: metadata)
        }
        guard error == .brokenPipe || error == .connectionReset else { return fail(error) }
        isOutputClosed = true
        outbound.clear()
        if case .handler(_, let outbox) = mode { outbox.markOutputClosed() }
    }

    /// Writes what is queued, as far as the socket takes it, and watches for what is needed next.
    private func flush() {
        guard !isClosed else { return }
        if case .handler(_, let outbox) = mode, outbound.readableBytes < outboundLimit {
            var queued = outbox.take()
            if queued.readableBytes > 0 { outbound.writeBuffer(&queued) }
        }
        if isOutputClosed { outbound.clear() }
        if packets {
            do {
                try sendPackets()
            } catch {
                outputFailed(error)
                return flush()
            }
        } else if outbound.readableBytes > 0 {
            let written: Int
            do {
                written = try outbound.withUnsafeReadableBytes { raw throws(Errno) in
                    try Syscall.sendNonBlocking(descriptor, raw)
                }
            } catch {
                outputFailed(error)
                return flush()
            }
            outbound.moveReaderIndex(forwardBy: written)
            core.counters.sent(written)
            if written > 0 { lastProgressAt = .now }
            if outbound.readableBytes == 0 {
                outbound.clear()
            } else if outbound.readerIndex > outbound.readableBytes {
                outbound.discardReadBytes()
            }
        }
        if outbound.readableBytes == 0 && closesWhenFlushed { return close() }
        var interest: Epoll.Events = []
        if canRead { interest.insert(.readable) }
        if outbound.readableBytes > 0 { interest.insert(.writable) }
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

    /// Sends queued messages, one packet each, until the socket is full.
    private func sendPackets() throws(Errno) {
        try PacketIO.sendQueued(descriptor, &outbound) { length in
            if length == 0 && !warnedOfEmptyPacket {
                warnedOfEmptyPacket = true
                core.logger.warning(
                    "sent an empty reply as an empty packet, which the client cannot tell from the end of the connection",
                    metadata: peerMetadata())
            }
            core.counters.sent(length)
            lastProgressAt = .now
        }
    }

    /// A handler's task queued frames.
    func drainOutbox() { flush() }

    /// Closes once everything queued has been written.
    func closeWhenFlushed() {
        guard !isClosed else { return }
        closesWhenFlushed = true
        isReading = false
        flush()
    }

    // MARK: Handler

    private func startHandler(_ body: @escaping FramedHandler.Connection) {
        let connection = ReactorBound(self, on: reactor)
        let inbound = FrameSequence.make(
            delegate: FramedInboundDelegate { connection.execute { $0.resumeReading() } })
        let outbox = Outbox(limit: outboundLimit)
        mode = .handler(inbound.source, outbox)
        let server = FramedServerConnection(
            inbound: inbound.sequence,
            context: core.context(forConnection: id, descriptor: descriptor), outbox: outbox, connection: connection,
            framing: framing)
        Task(executorPreference: core.configuration.runsHandlersOnEventLoop ? ReactorTaskExecutor(reactor) : nil) {
            do {
                try await body(server)
            } catch {
                server.context.logger.debug("connection handler ended", metadata: ["uds.error": "\(error)"])
            }
            server.close()
        }
    }

    // MARK: Closing

    private func fail(_ error: Errno) {
        core.logger.debug("connection failed", metadata: ["uds.connection": "\(id)", "uds.error": "\(error)"])
        close()
    }

    private func close() {
        guard !isClosed else { return }
        isClosed = true
        if case .handler(let source, let outbox) = mode {
            source.finish(UnixSocketError(.connectionClosed, operation: .read, detail: "the connection is closed"))
            outbox.close()
        }
        mode = .discard
        outbound = ByteBuffer()
        reactor.release(descriptor)
        Syscall.close(descriptor)
        core.counters.connectionClosed()
        core.connections.remove()
    }
}
