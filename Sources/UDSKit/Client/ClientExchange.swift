import NIOCore
import SystemPackage

/// One ``MessageClient`` exchange on the client reactor: writes the message (bytes, a file, chunks), half-closes,
/// and reads the reply until the server closes, all on a non-blocking socket.
///
/// Ownership: the calling task creates it and may write to the socket directly (``writeInline()``) until it hands
/// it to the reactor with ``start(on:)``; from then on only the reactor's thread touches it. Whatever the server sends
/// while the message is still being written is collected as it comes, so a server that answers as it reads cannot
/// deadlock the exchange.
final class ClientExchange: ReactorSource, @unchecked Sendable {
    /// What the exchange ends with.
    struct Outcome: Sendable {
        var sent: Int
        var reply: [UInt8]
        /// The server closed before taking the whole message (`EPIPE`); its reply, if any, says why.
        var writeFailure: UnixSocketError?
    }

    let descriptor: CInt
    private let address: String
    private var reactor: Reactor?
    private let readsReply: Bool
    private let maximumReplySize: Int
    private let replyTimeout: Duration?
    private let onProgress: (@Sendable (Int) -> Void)?

    /// Bytes not yet written, and descriptors to pass with the first of them.
    private var outbound = ByteBuffer()
    private var descriptors: [CInt]
    /// A file still being read, and how much of it at once.
    private var file: SystemPackage.FileDescriptor?
    private let fileChunkSize: Int
    /// No more bytes come after `outbound` (and the file): half-close once it is written.
    private var isMessageComplete = false
    private var isWriteClosed = false
    private(set) var sent = 0
    private var reply: [UInt8] = []
    private var writeFailure: UnixSocketError?
    private var lastRead = ContinuousClock.now

    /// The task waiting for the outcome, and the one waiting for room for its chunk.
    private var completion: CheckedContinuation<Outcome, any Error>?
    private var chunkWaiter: CheckedContinuation<Void, any Error>?
    private var failure: (any Error)?
    private var isFinished = false

    init(
        descriptor: CInt, address: String, configuration: MessageClient.Configuration, readsReply: Bool,
        descriptors: [CInt]
    ) {
        self.descriptor = descriptor
        self.address = address
        self.readsReply = readsReply
        self.maximumReplySize = configuration.maximumReplySize
        self.replyTimeout = configuration.replyTimeout
        self.onProgress = configuration.onProgress
        self.fileChunkSize = configuration.fileChunkSize
        self.descriptors = descriptors
    }

    // MARK: Before the handover (the calling task)

    /// Queues `bytes`, the whole message.
    func setMessage(_ bytes: ByteBuffer) {
        outbound = bytes
        isMessageComplete = true
    }

    /// Queues the file `file`, read in chunks as the socket takes them; the exchange closes it.
    func setFile(_ file: SystemPackage.FileDescriptor) {
        self.file = file
    }

    /// Writes what the socket takes now, from the calling thread, so that a small message costs the reactor no
    /// write of its own; half-closes if that was all.
    func writeInline() {
        flush()
    }

    /// Hands the exchange to `reactor`'s thread: it watches the socket from now on. Call on that thread.
    func start(on reactor: Reactor) {
        reactor.assertInLoop()
        guard self.reactor == nil, !isFinished else { return }
        self.reactor = reactor
        reactor.adopt(descriptor, self)
        lastRead = .now
        if let replyTimeout { scheduleReplyCheck(after: replyTimeout) }
        // No read yet: the server has not run since the message was written. Epoll says when there is something.
        watch()
    }

    // MARK: On the reactor

    /// Resumes `continuation` with the outcome once the reply is whole (or, without a reply, once the message is
    /// written and the socket half-closed).
    func awaitOutcome(_ continuation: CheckedContinuation<Outcome, any Error>) {
        if isFinished {
            return continuation.resume(with: result())
        }
        completion = continuation
    }

    /// Queues `chunk` and resumes `continuation` once the socket has taken all but a bounded rest of what is queued.
    func write(_ chunk: ByteBuffer, then continuation: CheckedContinuation<Void, any Error>) {
        if let failure = failure ?? writeFailure { return continuation.resume(throwing: failure) }
        var chunk = chunk
        outbound.writeBuffer(&chunk)
        chunkWaiter = continuation
        flush()  // no read here: epoll says when the server has sent something
        if !isFinished { watch() }
    }

    /// The chunks are all queued: half-close once they are written.
    func finishMessage() {
        guard !isFinished else { return }
        isMessageComplete = true
        flush()  // half-closes if everything is written
        guard !isFinished else { return }
        if isWriteClosed && !readsReply { return finish() }  // a post: done once the message is written
        watch()
    }

    /// The task was cancelled: stop, close, and throw `CancellationError` from whatever waits.
    func cancel() {
        fail(CancellationError())
    }

    func handle(_ events: Epoll.Events) { progress() }

    func forceClose() {
        fail(
            UnixSocketError(.connectionClosed, operation: .read, socket: address, detail: "the client is shutting down")
        )
    }

    private func progress() {
        guard !isFinished else { return }
        flush()
        if readsReply { readReply() }
        guard !isFinished else { return }
        if isWriteClosed && !readsReply { return finish() }  // a post: done once the message is written
        watch()
    }

    /// Writes what is queued, reads the next chunk of a file when that is written, and half-closes at the end.
    private func flush() {
        while failure == nil && writeFailure == nil && !isWriteClosed {
            if outbound.readableBytes == 0, let file {
                if !readFileChunk(file) { return }
                continue
            }
            if outbound.readableBytes == 0 {
                if let waiter = chunkWaiter {
                    chunkWaiter = nil
                    waiter.resume()
                }
                guard isMessageComplete else { return }
                do {
                    try Syscall.shutdownWrite(descriptor)
                } catch {
                    return fail(UnixSocketError.from(error, operation: .shutdown, socket: address))
                }
                isWriteClosed = true
                return
            }
            let written: Int
            do {
                written = try outbound.withUnsafeReadableBytes { raw throws(Errno) in
                    if descriptors.isEmpty { return try Syscall.sendNonBlocking(descriptor, raw) }
                    let first = UnsafeRawBufferPointer(rebasing: raw[..<min(raw.count, 4096)])
                    return try Syscall.sendPassing(descriptor, first, descriptors: descriptors, dontWait: true)
                }
            } catch {
                let failure = UnixSocketError.from(error, operation: .write, socket: address)
                if failure.code == .connectionClosed && readsReply {
                    writeFailure = failure
                    resumeChunkWaiter(throwing: failure)
                    return
                }
                return fail(failure)
            }
            if written == 0 { return }  // full: the reactor waits for room
            if !descriptors.isEmpty { descriptors = [] }
            let wasPartial = written < outbound.readableBytes
            outbound.moveReaderIndex(forwardBy: written)
            sent += written
            if outbound.readableBytes == 0 {
                outbound.clear()
                if file != nil || chunkWaiter != nil { onProgress?(sent) }
            }
            // A stream socket that took part of a write is full: another try now would only fail with EAGAIN.
            if wasPartial { return }
        }
    }

    /// Reads the next chunk of the file into `outbound`; at its end, closes it and completes the message. Returns
    /// false after a failure.
    private func readFileChunk(_ file: SystemPackage.FileDescriptor) -> Bool {
        do {
            let count = try outbound.writeWithUnsafeMutableBytes(minimumWritableBytes: fileChunkSize) { raw in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[..<fileChunkSize]))
            }
            if count == 0 {
                try? file.close()
                self.file = nil
                isMessageComplete = true
            }
            return true
        } catch {
            try? file.close()
            self.file = nil
            let errno = error as? Errno
            fail(
                UnixSocketError(
                    errno == .permissionDenied ? .permissionDenied : .system, operation: .read, socket: address,
                    systemError: errno, detail: "cannot read the file being sent"))
            return false
        }
    }

    /// Reads what the server has sent, until the socket is empty or the server has closed.
    private func readReply() {
        guard let reactor else { return }
        var reads = 0
        while !isFinished && reads < 16 {
            var passed = Passed()  // the reply carries no descriptors: any that come are closed, not leaked
            let count: Int?
            do {
                count = try Syscall.receive(descriptor, into: reactor.readBuffer, passed: &passed, limit: 0)
            } catch {
                // A server that refuses a message replies with an error line and closes while bytes of ours are
                // still unread, which reaches us as a reset after that line: the line is the reply then.
                if (error == .connectionReset || error == .brokenPipe) && reply.last == UInt8(ascii: "\n")
                    && Acknowledgement.errorReason(in: Message(bytes: reply)) != nil
                {
                    return finish()
                }
                return fail(UnixSocketError.from(error, operation: .read, socket: address))
            }
            guard let count else { return }
            if count == 0 { return finish() }
            guard reply.count + count <= maximumReplySize else {
                return fail(
                    UnixSocketError(
                        .replyTooLarge, operation: .read, socket: address,
                        detail: "more than the limit of \(maximumReplySize) bytes"))
            }
            // Read on after a short read too: the server usually closes right after its reply, and the end of
            // stream is then already there.
            reply.append(contentsOf: UnsafeRawBufferPointer(rebasing: reactor.readBuffer[..<count]))
            lastRead = .now
            reads += 1
        }
    }

    private func watch() {
        guard let reactor else { return }
        var interest: Epoll.Events = []
        if readsReply { interest.insert(.readable) }
        if !isWriteClosed && writeFailure == nil && (outbound.readableBytes > 0 || file != nil) {
            interest.insert(.writable)
        }
        do {
            if interest.isEmpty { reactor.unwatch(descriptor) } else { try reactor.watch(descriptor, interest) }
        } catch {
            fail(UnixSocketError.from(error, operation: .epollControl, socket: address))
        }
    }

    /// Fails the exchange past the reply timeout: the longest the server may stay silent while the reply is read.
    private func scheduleReplyCheck(after delay: Duration) {
        reactor?.schedule(after: delay) { [weak self] in
            guard let self, !isFinished, let replyTimeout else { return }
            let silence = ContinuousClock.now - lastRead
            if silence >= replyTimeout {
                fail(
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

    private func fail(_ error: any Error) {
        guard !isFinished else { return }
        failure = error
        finish()
    }

    private func finish() {
        guard !isFinished else { return }
        isFinished = true
        if let file { try? file.close() }
        file = nil
        if let reactor { reactor.release(descriptor) }
        Syscall.close(descriptor)
        resumeChunkWaiter(
            throwing: failure ?? writeFailure ?? UnixSocketError(.connectionClosed, operation: .write, socket: address))
        if let completion {
            self.completion = nil
            ThreadSanitizer.release(self)
            completion.resume(with: result())
        }
    }

    private func result() -> Result<Outcome, any Error> {
        if let failure { return .failure(failure) }
        return .success(Outcome(sent: sent, reply: reply, writeFailure: writeFailure))
    }
}
