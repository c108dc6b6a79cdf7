import NIOCore
import NIOPosix
import SystemPackage

/// A client that sends one message per connection to a ``MessageServer`` (or any server of the same protocol) and
/// returns its reply.
///
/// Each call connects, writes the whole message, half-closes its side (so the server reads end of stream) and reads
/// the reply until the server closes. The blocking socket calls run on NIO's shared thread pool, never on the
/// caller's executor.
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
        /// Called, on a thread of the client's, with the bytes sent so far after each chunk of a file or of chunks
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
    public init(path: String, configuration: Configuration = Configuration()) throws(UnixSocketError) {
        self.init(address: try UnixSocketAddress(path), configuration: configuration)
    }

    /// Sends `message` and returns the server's reply, whatever it is.
    ///
    /// - Throws: ``UnixSocketError``: ``UnixSocketError/Code/noSocketFile``, ``UnixSocketError/Code/staleSocketFile``,
    ///   ``UnixSocketError/Code/permissionDenied``, ``UnixSocketError/Code/timedOut``,
    ///   ``UnixSocketError/Code/replyTooLarge``; ``UnixSocketError/Code/serverError`` when the server closed before
    ///   taking the whole message and said why.
    public func send(_ message: Message) async throws -> Message {
        try await exchange(.bytes(message)).reply
    }

    /// Sends `message` (bytes, a file, or chunks) and returns the server's reply.
    public func send(_ message: OutgoingMessage) async throws -> Message {
        try await exchange(message).reply
    }

    /// Sends `message` and checks the server's acknowledgement: it must state exactly the number of bytes sent.
    ///
    /// A message is either acknowledged whole or this throws: ``UnixSocketError/Code/notAcknowledged`` when the
    /// count differs or the reply is no acknowledgement, ``UnixSocketError/Code/serverError`` for an error reply.
    ///
    /// - Returns: The number of bytes delivered.
    @discardableResult
    public func deliver(_ message: Message) async throws -> Int {
        try await deliver(.bytes(message))
    }

    /// Sends `message` (bytes, a file, or chunks) and checks the server's acknowledgement.
    @discardableResult
    public func deliver(_ message: OutgoingMessage) async throws -> Int {
        let (sent, reply) = try await exchange(message)
        try Acknowledgement.verify(reply, sentCount: sent, socket: address.description)
        return sent
    }

    /// Sends `message` and returns without waiting for a reply (fire and forget): the bytes are in the server's
    /// socket buffer, but nothing says the server processed them.
    public func post(_ message: OutgoingMessage) async throws {
        _ = try await exchange(message, readsReply: false)
    }

    /// Sends `message` without waiting for a reply.
    public func post(_ message: Message) async throws {
        try await post(.bytes(message))
    }

    /// Sends `message` and returns how many bytes were sent together with the reply, for callers that look at the
    /// reply before checking it (``Acknowledgement/verify(_:sentCount:socket:)``).
    public func exchange(_ message: OutgoingMessage) async throws -> (sent: Int, reply: Message) {
        try await exchange(message, readsReply: true)
    }

    /// Connects, writes, half-closes, and reads the reply unless `readsReply` is false.
    ///
    /// Whatever the server sends while the message is still being written is collected as it comes, so a server
    /// that answers as it reads cannot deadlock the exchange.
    func exchange(_ message: OutgoingMessage, readsReply: Bool) async throws -> (sent: Int, reply: Message) {
        let (address, configuration) = (self.address, self.configuration)
        let connection = try await Self.blocking {
            try UnixSocketConnection.connect(to: address, timeout: configuration.connectTimeout)
        }
        defer { connection.close() }
        let reply = ReplyCollector(maximumSize: configuration.maximumReplySize)
        var sent = 0
        var writeFailure: UnixSocketError?
        do {
            switch message.source {
            case .bytes(let bytes):
                let descriptors = message.descriptors
                try await Self.blocking {
                    try bytes.buffer.withUnsafeReadableBytes { raw in
                        try reply.write(raw, passing: descriptors, on: connection)
                    }
                    try connection.closeWrite()
                }
                sent = bytes.count
            case .file(let path):
                sent = try await Self.blocking {
                    var total = 0
                    var descriptors = message.descriptors
                    let count = try Self.writeFile(path, chunkSize: configuration.fileChunkSize) { chunk in
                        try reply.write(chunk, passing: descriptors, on: connection)
                        descriptors = []
                        total += chunk.count
                        configuration.onProgress?(total)
                    }
                    try connection.closeWrite()
                    return count
                }
            case .chunks(let produce):
                let writer = ChunkWriter(
                    connection: connection, reply: reply, descriptors: message.descriptors,
                    onProgress: configuration.onProgress)
                try await produce(writer)
                try await Self.blocking { try connection.closeWrite() }
                sent = writer.count
            }
        } catch let error as UnixSocketError where error.code == .connectionClosed && readsReply {
            // The server closed before taking everything; its reply, if any, says why.
            writeFailure = error
        }
        guard readsReply else { return (sent, .empty) }
        let bytes = try await Self.blocking {
            if let timeout = configuration.replyTimeout { try connection.setReadTimeout(timeout) }
            return try reply.readToEnd(on: connection)
        }
        let message = Message(bytes: bytes)
        if var writeFailure {
            if let reason = Acknowledgement.errorReason(in: message) {
                throw Acknowledgement.serverError(reason, operation: "write", socket: address.description)
            }
            writeFailure.detail = "the server closed the connection before reading the whole message"
            throw writeFailure
        }
        return (sent, message)
    }

    /// Streams the file at `path` through `write` in chunks; returns the number of bytes.
    static func writeFile(
        _ path: FilePath, chunkSize: Int, _ write: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        let file: SystemPackage.FileDescriptor
        do {
            file = try SystemPackage.FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch let errno as Errno {
            throw UnixSocketError(
                errno == .permissionDenied ? .permissionDenied : .system, operation: "open", socket: path.string,
                systemError: errno, detail: "cannot read the file to send")
        }
        return try file.closeAfter {
            var total = 0
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            while true {
                let count = try buffer.withUnsafeMutableBytes { raw in try file.read(into: raw) }
                if count == 0 { return total }
                try buffer.withUnsafeBytes { raw in try write(UnsafeRawBufferPointer(rebasing: raw[..<count])) }
                total += count
            }
        }
    }

    /// Runs blocking socket calls on the clients' thread pool, so that they never block a Swift concurrency thread.
    static func blocking<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await blockingPool.runIfActive(body)
    }

    /// The threads that make the clients' blocking calls: 32, not NIO's shared pool (one thread per core), because an
    /// exchange holds its thread while it waits for the server's reply, and two slow servers must not stall every
    /// other client of the process. More exchanges than that at once wait for a thread.
    static let blockingPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 32)
        pool.start()
        return pool
    }()
}
