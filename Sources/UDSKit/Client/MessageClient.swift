import NIOCore
import SystemPackage

/// A client that sends one message per connection to a ``MessageServer`` (or any server of the same protocol) and
/// returns its reply.
///
/// Each call connects, writes the whole message, half-closes its side (so the server reads end of stream) and reads
/// the reply until the server closes. The socket is non-blocking: the calling task writes what fits at once, and the
/// process's client reactor (one thread, started on first use) does the waiting, so any number of exchanges may be
/// in flight without a thread each.
///
/// ```swift
/// let client = try MessageClient(path: "/tmp/app.sock")
/// try await client.deliver("hello")            // throws unless the server acknowledged all 5 bytes
/// let reply = try await client.send("ping")     // any reply, as bytes
/// ```
public struct MessageClient: Sendable {
    /// Limits and timeouts of a ``MessageClient``.
    public struct Configuration: Sendable {
        /// How long a connect may wait while the server's backlog is full. Default 10 seconds.
        public var connectTimeout: Duration? = .seconds(10)
        /// How long a read of the reply may wait for data; `nil`, the default, waits as long as the server takes.
        public var replyTimeout: Duration? = nil
        /// Largest reply accepted. Default 64 MiB; past it the call throws ``UnixSocketError/Code/replyTooLarge``.
        public var maximumReplySize: Int = 64 * 1024 * 1024
        /// Bytes read from a file at once when sending one. Default 256 KiB.
        public var fileChunkSize: Int = 256 * 1024
        /// Called, on the client reactor's thread, with the bytes sent so far after each chunk of a file or of chunks
        /// is written: for a progress display. Default `nil`.
        public var onProgress: (@Sendable (_ bytesSent: Int) -> Void)? = nil

        public init() {}
    }

    /// The server's socket.
    public let address: UnixSocketAddress
    public var configuration: Configuration

    public init(address: UnixSocketAddress, configuration: Configuration = Configuration()) {
        self.address = address
        self.configuration = configuration
    }

    /// A client of the server at `path` (`@name` for an abstract name on Linux).
    public init(path: String, configuration: Configuration = Configuration()) throws {
        self.init(address: try UnixSocketAddress(path), configuration: configuration)
    }

    /// Sends `message` and returns the server's reply, whatever it is.
    ///
    /// - Throws: ``UnixSocketError``: ``UnixSocketError/Code/noSocketFile``, ``UnixSocketError/Code/staleSocketFile``,
    ///   ``UnixSocketError/Code/permissionDenied``, ``UnixSocketError/Code/timedOut``,
    ///   ``UnixSocketError/Code/replyTooLarge``; ``UnixSocketError/Code/serverError`` when the server closed before
    ///   taking the whole message and said why.
    nonisolated(nonsending) public func send(_ message: Message) async throws -> Message {
        try await exchange(.bytes(message)).reply
    }

    /// Sends `message` (bytes, a file, or chunks) and returns the server's reply.
    nonisolated(nonsending) public func send(_ message: OutgoingMessage) async throws -> Message {
        try await exchange(message).reply
    }

    /// Sends `message` and checks the server's acknowledgement: it must state exactly the number of bytes sent.
    ///
    /// A message is either acknowledged whole or this throws: ``UnixSocketError/Code/notAcknowledged`` when the
    /// count differs or the reply is no acknowledgement, ``UnixSocketError/Code/serverError`` for an error reply.
    ///
    /// - Returns: The number of bytes delivered.
    @discardableResult
    nonisolated(nonsending) public func deliver(_ message: Message) async throws -> Int {
        try await deliver(.bytes(message))
    }

    /// Sends `message` (bytes, a file, or chunks) and checks the server's acknowledgement.
    @discardableResult
    nonisolated(nonsending) public func deliver(_ message: OutgoingMessage) async throws -> Int {
        let (sent, reply) = try await exchange(message)
        try Acknowledgement.verify(reply, sentCount: sent, socket: address.description)
        return sent
    }

    /// Sends `message` and returns without waiting for a reply (fire and forget): the bytes are in the server's
    /// socket buffer, but nothing says the server processed them.
    nonisolated(nonsending) public func post(_ message: OutgoingMessage) async throws {
        _ = try await exchange(message, readsReply: false)
    }

    /// Sends `message` without waiting for a reply.
    nonisolated(nonsending) public func post(_ message: Message) async throws {
        try await post(.bytes(message))
    }

    /// Sends `message` and returns how many bytes were sent together with the reply, for callers that look at the
    /// reply before checking it (``Acknowledgement/verify(_:sentCount:socket:)``).
    nonisolated(nonsending) public func exchange(_ message: OutgoingMessage) async throws -> (sent: Int, reply: Message)
    {
        try await exchange(message, readsReply: true)
    }

    /// Connects, writes, half-closes, and reads the reply unless `readsReply` is false.
    ///
    /// The calling task connects and writes what the socket takes at once (all of a small message); the client
    /// reactor then writes the rest and reads the reply, and resumes the task once with the outcome. A task that runs
    /// on the reactor (``executor``) does all of it without a thread switch.
    nonisolated(nonsending) func exchange(_ message: OutgoingMessage, readsReply: Bool) async throws -> (
        sent: Int, reply: Message
    ) {
        // In three parts, so that what a suspended exchange holds in its task's memory stays small: in one function
        // its frame took a 1.6 KB slab of its own, and 10,000 chunked deliveries held at once peaked at 79 MB
        // resident instead of 63 (BENCHMARKS.md, fanin).
        let exchange = try await open(message, readsReply: readsReply)
        let outcome = try await Self.run(exchange, producing: message.chunkProducer, readsReply: readsReply)
        return try Self.result(of: outcome, socket: address.description)
    }

    /// Connects and makes the exchange, with a message of bytes queued and written as far as the socket takes it.
    nonisolated(nonsending) private func open(_ message: OutgoingMessage, readsReply: Bool) async throws
        -> ClientExchange
    {
        try Task.checkCancellation()
        let reactor = try ClientReactor.get()
        if case .bytes(let bytes) = message.source, bytes.count == 0, !message.descriptors.isEmpty {
            throw UnixSocketError(
                .invalidMessage, operation: .sendmsg, socket: address.description,
                detail: "descriptors travel with at least one byte")
        }
        var file: SystemPackage.FileDescriptor?
        if case .file(let path) = message.source { file = try Self.openFile(path) }
        let descriptor: CInt
        do {
            descriptor = try await NonBlockingConnect.connect(
                to: address, type: .stream, timeout: configuration.connectTimeout)
        } catch {
            try? file?.close()
            throw error
        }
        let exchange = ClientExchange(
            descriptor: descriptor, reactor: reactor, address: address.description, configuration: configuration,
            readsReply: readsReply, descriptors: message.descriptors.map(\.rawValue))
        switch message.source {
        case .bytes(let bytes):
            exchange.setMessage(bytes.buffer)
            exchange.writeInline()
        case .file:
            if let file { exchange.setFile(file) }
        case .chunks:
            break
        }
        return exchange
    }

    /// Hands `exchange` to its reactor, feeds it the chunks of `produce` if any, and waits for its outcome.
    nonisolated(nonsending) private static func run(
        _ exchange: ClientExchange, producing produce: (@Sendable (ChunkWriter) async throws -> Void)?,
        readsReply: Bool
    ) async throws -> ClientExchange.Outcome {
        let reactor = exchange.reactor
        return try await withTaskCancellationHandler {
            if let produce {
                if reactor.inLoop {  // a task on the reactor's executor hands the exchange over without a switch
                    exchange.start()
                } else {
                    await withCheckedContinuation { continuation in
                        reactor.execute {
                            exchange.start()
                            continuation.resume()
                        }
                    }
                }
                do {
                    try await produce(ChunkWriter(exchange: exchange, reactor: reactor))
                } catch let error as UnixSocketError where error.code == .connectionClosed && readsReply {
                    // The server closed before taking everything; its reply, if any, says why.
                } catch {
                    reactor.perform { exchange.cancel() }
                    throw error
                }
            }
            defer { ThreadSanitizer.acquire(exchange) }
            return try await withCheckedThrowingContinuation { continuation in
                reactor.perform {
                    exchange.start()
                    exchange.finishMessage()
                    exchange.awaitOutcome(continuation)
                }
            }
        } onCancel: {
            reactor.perform { exchange.cancel() }
        }
    }

    /// The exchange's result: what was sent and the reply, or why the server took less than the whole message.
    private static func result(of outcome: ClientExchange.Outcome, socket: String) throws -> (
        sent: Int, reply: Message
    ) {
        let reply = Message(bytes: outcome.reply)
        if var writeFailure = outcome.writeFailure {
            if let reason = Acknowledgement.errorReason(in: reply) {
                throw Acknowledgement.serverError(reason, operation: .write, socket: socket)
            }
            writeFailure.detail = "the server closed the connection before reading the whole message"
            throw writeFailure
        }
        return (outcome.sent, reply)
    }

    /// Opens the file to send.
    private static func openFile(_ path: FilePath) throws -> SystemPackage.FileDescriptor {
        do {
            return try SystemPackage.FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch let errno as Errno {
            throw UnixSocketError(
                errno == .permissionDenied ? .permissionDenied : .system, operation: .open, socket: path.string,
                systemError: errno, detail: "cannot read the file to send")
        }
    }

    /// The executor of the thread that runs this process's client connections: a task that prefers it
    /// (`withTaskExecutorPreference(client.executor) { … }`) makes each exchange without a thread switch. Starting
    /// it starts that thread, if no client has yet.
    ///
    /// - Throws: ``UnixSocketError/Code/system`` when the thread's event loop cannot be made.
    public var executor: any TaskExecutor {
        get throws { try ClientReactor.get() }
    }
}
