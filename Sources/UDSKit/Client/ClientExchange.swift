import NIOCore
import SystemPackage

/// One ``MessageClient`` exchange, a ``ConnectionDriver`` over ``UntilEndOfStream``: writes the message (bytes, a
/// file, chunks, descriptors with its first bytes), half-closes, and reads the reply until the server closes.
///
/// Ownership: the calling task creates it and may write to the socket directly (``writeInline()``) until it hands
/// it to the reactor with ``start()``; from then on only the reactor's thread touches it. Whatever the server sends
/// while the message is still being written is read as it comes (the driver reads on while it writes), so a server
/// that answers as it reads cannot deadlock the exchange.
final class ClientExchange: ConnectionDriver, @unchecked Sendable {
    /// What the exchange ends with.
    struct Outcome: Sendable {
        var sent: Int
        var reply: [UInt8]
        /// The server closed before taking the whole message (`EPIPE`); its reply, if any, says why.
        var writeFailure: UnixSocketError?
    }

    private let address: String
    private let readsReply: Bool
    private let maximumReplySize: Int
    private let replyTimeout: Duration?
    private let onProgress: (@Sendable (Int) -> Void)?

    /// A file still being read, how much of it at once, and the buffer its next chunk is read into (the queue hands
    /// back its empty one each time it takes a chunk, so two buffers take turns and no chunk allocates).
    private var file: SystemPackage.FileDescriptor?
    private let fileChunkSize: Int
    private var fileChunk = ByteBuffer()
    private(set) var sent = 0
    private var reply: [UInt8] = []
    private var writeFailure: UnixSocketError?
    private var lastRead = ContinuousClock.now

    /// The task waiting for the outcome, and the one waiting for room for its chunk.
    private var completion: CheckedContinuation<Outcome, any Error>?
    private var chunkWaiter: CheckedContinuation<Void, any Error>?
    private var failure: (any Error)?
    /// The reactor has adopted the descriptor: only then may the exchange close it (before, ``start()`` does).
    private var isStarted = false
    /// Every byte of the message is queued or written.
    private var isMessageComplete = false

    init(
        descriptor: CInt, reactor: Reactor, address: String, configuration: MessageClient.Configuration,
        readsReply: Bool, descriptors: [CInt]
    ) {
        self.address = address
        self.readsReply = readsReply
        self.maximumReplySize = configuration.maximumReplySize
        self.replyTimeout = configuration.replyTimeout
        self.onProgress = configuration.onProgress
        self.fileChunkSize = configuration.fileChunkSize
        // Reading never pauses for the outbound queue: the reply is taken while the message is still going out.
        super.init(descriptor: descriptor, reactor: reactor, transport: UntilEndOfStream.shared, limits: .client)
        descriptorsToSend = descriptors
        if !readsReply { stopReading() }
    }

    // MARK: Before the handover (the calling task)

    /// Queues `bytes`, the whole message.
    func setMessage(_ bytes: ByteBuffer) {
        var bytes = bytes
        queue(framed: &bytes)
        messageIsComplete()
    }

    /// Queues the file `file`, read in chunks as the socket takes them; the exchange closes it.
    func setFile(_ file: SystemPackage.FileDescriptor) {
        self.file = file
    }

    /// Writes what the socket takes now, from the calling thread, so that a small message costs the reactor no
    /// write of its own; half-closes if that was all.
    func writeInline() {
        writeOutbound()
    }

    /// Hands the exchange to its reactor's thread: it watches the socket from now on. Call on that thread.
    func start() {
        reactor.assertInLoop()
        guard !isStarted else { return }
        isStarted = true
        adopt()
        if failure != nil { return close() }  // the inline write failed
        lastRead = .now
        if let replyTimeout { scheduleReplyCheck(after: replyTimeout) }
        if isMessageComplete && !readsReply {
            closeWhenFlushed()
        } else if !(isWriteShut && readsReply) {
            flush()
        }  // else finishMessage reads first: an exchange that ends in that read is never watched
    }

    // MARK: On the reactor

    /// Resumes `continuation` with the outcome once the reply is whole (or, without a reply, once the message is
    /// written and the socket half-closed).
    func awaitOutcome(_ continuation: CheckedContinuation<Outcome, any Error>) {
        if isClosed { return continuation.resume(with: result()) }
        completion = continuation
    }

    /// Queues `chunk` and resumes `continuation` once the socket has taken all of what is queued.
    func write(_ chunk: ByteBuffer, then continuation: CheckedContinuation<Void, any Error>) {
        do {
            if try write(chunk) { continuation.resume() } else { chunkWaiter = continuation }
        } catch {
            continuation.resume(throwing: error)
        }
    }

    /// Queues `chunk` and writes what the socket takes now; returns whether it took all of what is queued (else
    /// ``awaitRoom(_:)`` waits for that).
    ///
    /// - Throws: Why the message cannot go on: the server closed (it may have answered first), or the exchange failed.
    func write(_ chunk: ByteBuffer) throws -> Bool {
        try checkWritable()
        var chunk = chunk
        queue(framed: &chunk)
        flush()
        try checkWritable()
        guard outboundCount == 0 else { return false }
        onProgress?(sent)
        return true
    }

    /// Resumes `continuation` once the socket has taken all of what is queued, or with the error that ends the
    /// message.
    func awaitRoom(_ continuation: CheckedContinuation<Void, any Error>) {
        do {
            try checkWritable()
            if outboundCount == 0 { return continuation.resume() }
            chunkWaiter = continuation
        } catch {
            continuation.resume(throwing: error)
        }
    }

    private func checkWritable() throws {
        if let failure = failure ?? writeFailure { throw failure }
        // The server may have answered and closed before taking the whole message.
        if isClosed { throw UnixSocketError(.connectionClosed, operation: .write, socket: address) }
    }

    /// The chunks are all queued: half-close once they are written.
    func finishMessage() {
        guard !isClosed else { return }
        messageIsComplete()
        // All of it written and half-closed: a server on this CPU may have answered already.
        if isWriteShut && readsReply { readEagerly() } else { flush() }
    }

    /// The task was cancelled: stop, close, and throw `CancellationError` from whatever waits.
    func cancel() {
        abort(CancellationError())
    }

    override func forceClose() {
        abort(
            UnixSocketError(.connectionClosed, operation: .read, socket: address, detail: "the client is shutting down")
        )
    }

    /// The message ends once the queue is written: half-close then, and a post is done (from ``start()`` on: before,
    /// the reactor does not watch the socket yet).
    private func messageIsComplete() {
        isMessageComplete = true
        shutDownWriteWhenFlushed()
        if !readsReply && isStarted { closeWhenFlushed() }
    }

    // MARK: Driver hooks

    /// The queue ran empty: the next chunk of a file, or room for the producer of chunks.
    override func refill() {
        if let file { return readFileChunk(file) }
        if let waiter = chunkWaiter {
            chunkWaiter = nil
            onProgress?(sent)
            waiter.resume()
        }
    }

    override func didSend(_ count: Int) { sent += count }

    override func received(_ bytes: UnsafeRawBufferPointer) throws {
        guard reply.count + bytes.count <= maximumReplySize else {
            throw UnixSocketError(
                .replyTooLarge, operation: .read, socket: address,
                detail: "more than the limit of \(maximumReplySize) bytes")
        }
        reply.append(contentsOf: bytes)
        lastRead = .now
    }

    override func inputEnded() { close() }

    override func refuse(_ error: any Error) { abort(error) }

    override func fail(_ error: Errno) {
        // A server that refuses a message replies with an error line and closes while bytes of ours are still
        // unread, which reaches us as a reset after that line: the line is the reply then.
        if (error == .connectionReset || error == .brokenPipe) && reply.last == UInt8(ascii: "\n")
            && Acknowledgement.errorReason(in: Message(bytes: reply)) != nil
        {
            return close()
        }
        abort(UnixSocketError.from(error, operation: .read, socket: address))
    }

    override func outputFailed(_ error: Errno) {
        let failure = UnixSocketError.from(error, operation: .write, socket: address)
        guard failure.code == .connectionClosed && readsReply else { return abort(failure) }
        // The server stopped reading: keep reading its reply, which may say why.
        writeFailure = failure
        closeOutput()
        closeFile()
        resumeChunkWaiter(throwing: failure)
    }

    override func didClose() {
        closeFile()
        resumeChunkWaiter(
            throwing: failure ?? writeFailure ?? UnixSocketError(.connectionClosed, operation: .write, socket: address))
        if let completion {
            self.completion = nil
            ThreadSanitizer.release(self)
            completion.resume(with: result())
        }
    }

    // MARK: Helpers

    /// Reads the next chunk of the file into the queue; at its end, closes it and completes the message.
    private func readFileChunk(_ file: SystemPackage.FileDescriptor) {
        do {
            let count = try fileChunk.writeWithUnsafeMutableBytes(minimumWritableBytes: fileChunkSize) { raw in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[..<fileChunkSize]))
            }
            if sent > 0 { onProgress?(sent) }
            if count == 0 {
                closeFile()
                return messageIsComplete()
            }
            queue(framed: &fileChunk)
        } catch {
            closeFile()
            let errno = error as? Errno
            abort(
                UnixSocketError(
                    errno == .permissionDenied ? .permissionDenied : .system, operation: .read, socket: address,
                    systemError: errno, detail: "cannot read the file being sent"))
        }
    }

    private func closeFile() {
        try? file?.close()
        file = nil
    }

    /// Fails the exchange past the reply timeout: the longest the server may stay silent while the reply is read.
    private func scheduleReplyCheck(after delay: Duration) {
        reactor.schedule(after: delay) { [weak self] in
            guard let self, !isClosed, let replyTimeout else { return }
            let silence = ContinuousClock.now - lastRead
            if silence >= replyTimeout {
                abort(
                    UnixSocketError(
                        .timedOut, operation: .read, socket: address, detail: "no reply within \(replyTimeout)"))
            } else {
                scheduleReplyCheck(after: replyTimeout - silence)
            }
        }
    }

    private func resumeChunkWaiter(throwing error: any Error) {
        guard let waiter = chunkWaiter else { return }
        chunkWaiter = nil
        waiter.resume(throwing: error)
    }

    /// Ends the exchange with `error`; before ``start()``, only notes it (start closes).
    private func abort(_ error: any Error) {
        guard !isClosed, failure == nil else { return }
        failure = error
        if isStarted { close() }
    }

    private func result() -> Result<Outcome, any Error> {
        if let failure { return .failure(failure) }
        return .success(Outcome(sent: sent, reply: reply, writeFailure: writeFailure))
    }
}
