import NIOCore
import Synchronization
import SystemPackage

/// A persistent framed connection to a server: requests and replies, pipelined, from any number of tasks; one-way
/// frames; and frames the server pushes.
///
/// ```swift
/// let client = try await FramedClient.connect(to: UnixSocketAddress("/tmp/app.sock"))
/// let reply = try await client.request("ping")          // safe to call from many tasks at once
/// for try await note in client.incoming { print(note) } // frames that answer no request
/// ```
///
/// Replies are matched to requests in order, so the server must answer every request, in order (as
/// ``FramedHandler/requests(_:)`` does). A frame that arrives while no request waits is a pushed frame and goes to
/// ``incoming``. With ``Configuration/reconnect`` set, a broken connection is replaced on the next use, with backoff,
/// so that a server restart does not take the client down; requests in flight when it broke fail with
/// ``UnixSocketError/Code/connectionClosed``.
public final class FramedClient: Sendable {
    /// Timeouts, limits and reconnection.
    public struct Configuration: Sendable {
        /// How long a connect may wait while the server's backlog is full. Default 10 seconds.
        public var connectTimeout: Duration? = .seconds(10)
        /// How long a request waits for its reply; `nil`, the default, waits as long as the server takes.
        public var requestTimeout: Duration? = nil
        /// Largest frame accepted from the server. Default 16 MiB; a longer one closes the connection.
        public var maximumFrameSize: Int = 16 * 1024 * 1024
        /// Reconnect when the connection breaks; `nil`, the default, does not.
        public var reconnect: ReconnectPolicy? = nil
        /// The kind of socket: ``UnixSocketType/stream`` (the default), each message a frame; or
        /// ``UnixSocketType/seqPacket``, each message one packet, for a server whose
        /// ``MessageServer/Configuration/socketType`` is ``UnixSocketType/seqPacket``. A packet may be as long as the
        /// socket's send buffer allows, and an empty one reads as the end of the connection, so empty messages are
        /// refused on seqpacket.
        public var socketType: UnixSocketType = .stream
        /// How messages are marked out on a stream socket. Default ``Framing/lengthPrefixed``; seqpacket ignores it.
        public var framing: Framing = .lengthPrefixed

        public init() {}
    }

    /// How a ``FramedClient`` reconnects: waits doubling from `initialDelay` to `maximumDelay`, for at most
    /// `giveUpAfter` per attempt to reach the server.
    public struct ReconnectPolicy: Sendable {
        public var initialDelay: Duration = .milliseconds(20)
        public var maximumDelay: Duration = .seconds(1)
        public var giveUpAfter: Duration = .seconds(30)
        public init() {}
    }

    public let address: UnixSocketAddress
    public let configuration: Configuration
    /// Frames the server sent that answer no request (server push), in order. Reading from the server pauses while
    /// they are not taken.
    public let incoming: FrameSequence
    private let pushed: FrameSequence.Source

    private struct Connection: Sendable {
        let queue: RequestQueue
        let source: ReactorBound<FramedClientSource>
    }
    private struct State {
        var connection: Connection?
        var nextRequestID = 0
        var isClosed = false
    }
    private let state = Locked(State())

    /// The client reactor, which runs the connection.
    private let reactor: Reactor

    private init(address: UnixSocketAddress, configuration: Configuration, reactor: Reactor) {
        self.reactor = reactor
        self.address = address
        self.configuration = configuration
        let box = ResumeBox()
        let incoming = FrameSequence.make(delegate: FramedInboundDelegate { box.resume() })
        self.incoming = incoming.sequence
        self.pushed = incoming.source
        box.client = self
    }

    /// Connects to the server at `address`.
    ///
    /// - Throws: ``UnixSocketError`` as ``UnixSocketConnection/connect(to:timeout:)`` does.
    public static func connect(
        to address: UnixSocketAddress, configuration: Configuration = Configuration()
    ) async throws -> FramedClient {
        let client = FramedClient(address: address, configuration: configuration, reactor: try ClientReactor.get())
        _ = try await client.connection()
        return client
    }

    /// The executor of the thread that runs this client's connection. A task that prefers it
    /// (`withTaskExecutorPreference(client.executor) { … }` or `Task(executorPreference: client.executor)`) writes its
    /// requests and gets its replies on that thread, without a thread switch; from any other task a request costs
    /// one wake-up of that thread and one of the task's.
    public var executor: any TaskExecutor { reactor }

    /// Sends `message` as a request and returns the server's reply.
    ///
    /// - Parameters:
    ///   - message: The request, one frame.
    ///   - timeout: How long to wait for the reply; default ``Configuration/requestTimeout``. A reply that comes
    ///     later is dropped, so later requests still get their own replies.
    /// - Throws: ``UnixSocketError``: ``UnixSocketError/Code/connectionClosed`` when the connection broke before the
    ///   reply came, ``UnixSocketError/Code/timedOut`` past the timeout; `CancellationError` when the task is
    ///   cancelled (the request may have been written; its reply is dropped, and the connection goes on).
    nonisolated(nonsending) public func request(_ message: Message, timeout: Duration? = nil) async throws -> Message {
        try Task.checkCancellation()
        let frame = try outgoingFrame(message)
        return try await submit(.framed(frame), timeout: timeout) { .one($0) }
    }

    /// Sends the messages of `batch` as requests, one frame each, in one write, and returns their replies in order:
    /// for many requests at once, the cost of one ``request(_:timeout:)`` (one queue entry, one wake-up) instead of
    /// one each. With ``Framing/lengthPrefixed`` (the default) the batch is written as it is and the replies are read
    /// into one array, with no allocation or copy per message (see ``FrameBatch``).
    ///
    /// - Parameters:
    ///   - batch: The requests; none for none.
    ///   - timeout: How long to wait for the last reply; default ``Configuration/requestTimeout``.
    /// - Returns: The replies, `replies[i]` answering `batch[i]`.
    /// - Throws: As ``request(_:timeout:)``, for the batch as a whole: the replies that came are dropped with it.
    nonisolated(nonsending) public func requests(_ batch: FrameBatch, timeout: Duration? = nil) async throws
        -> FrameBatch
    {
        try Task.checkCancellation()
        guard !batch.isEmpty else { return FrameBatch() }
        if configuration.socketType == .seqPacket { for message in batch { try refuseEmptyPacket(message) } }
        // A batch is length-prefixed frames, the queue form of a length-prefixed stream and of seqpacket.
        var frames = RequestQueue.Frames.batch(batch)
        if outgoingFraming != .lengthPrefixed {
            var reframed = ByteBuffer()
            outgoingFraming.append(contentsOf: batch, to: &reframed)
            frames = .framed(reframed)
        }
        return try await submit(frames, timeout: timeout) { .batch($0, count: batch.count) }
    }

    /// Queues `frames` with a waiter for their replies, and waits for them.
    nonisolated(nonsending) private func submit<Reply: Sendable>(
        _ frames: RequestQueue.Frames, timeout: Duration?,
        _ reply: (CheckedContinuation<Reply, any Error>) -> RequestQueue.Waiter.Reply
    ) async throws -> Reply {
        let connection = try await connection()
        let id = state.withLock { state in
            state.nextRequestID += 1
            return state.nextRequestID
        }
        let timeout = timeout ?? configuration.requestTimeout
        // The reply (or error) is built on the reactor, which releases the queue before resuming (ThreadSanitizer).
        defer { ThreadSanitizer.acquire(connection.queue) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let waiter = RequestQueue.Waiter(id: id, reply: reply(continuation))
                switch connection.queue.enqueue(.init(frames: frames, waiter: waiter)) {
                case .failure(let error):
                    continuation.resume(throwing: error)
                case .success(let schedulesDrain):
                    guard schedulesDrain || timeout != nil else { break }
                    let drain: @Sendable (FramedClientSource) -> Void = { source in
                        source.drain()
                        if let timeout { source.scheduleTimeout(id, after: timeout) }
                    }
                    // Written later in the reactor's turn, so that requests other tasks queue meanwhile leave in
                    // the same write; at once when this task is the last work of the turn (one at a time).
                    if connection.source.reactor.isLastWorkOfTurn {
                        connection.source.perform(drain)
                    } else {
                        connection.source.execute(drain)
                    }
                }
            }
        } onCancel: {
            connection.source.execute { $0.cancel(id) }
        }
    }

    /// Sends `message` as one frame that expects no reply (a notification).
    nonisolated(nonsending) public func send(_ message: Message) async throws {
        let connection = try await connection()
        switch connection.queue.enqueue(.init(frames: .framed(try outgoingFrame(message)), waiter: nil)) {
        case .failure(let error): throw error
        case .success(let schedulesDrain): if schedulesDrain { connection.source.execute { $0.drain() } }
        }
    }

    /// `message` as the connection queues it: length-prefixed, also for seqpacket, where the prefix only tells the
    /// reactor where one packet ends.
    private func outgoingFrame(_ message: Message) throws -> ByteBuffer {
        var frame = ByteBuffer()
        frame.reserveCapacity(outgoingFraming.overhead + message.count)
        try appendFrame(message, to: &frame)
        return frame
    }

    /// Appends `message` to `frames` as ``outgoingFrame(_:)`` makes it.
    private func appendFrame(_ message: Message, to frames: inout ByteBuffer) throws {
        try refuseEmptyPacket(message)
        outgoingFraming.append(message.buffer, to: &frames)
    }

    /// Throws for an empty message on a seqpacket socket, where an empty packet reads as the end of the connection.
    private func refuseEmptyPacket(_ message: Message) throws {
        guard configuration.socketType == .seqPacket && message.count == 0 else { return }
        throw UnixSocketError(
            .invalidMessage, operation: .send, socket: "\(address)",
            detail: "it is empty, and an empty packet reads as the end of the connection")
    }

    private var outgoingFraming: Framing {
        configuration.socketType == .seqPacket ? .lengthPrefixed : configuration.framing
    }

    /// Closes the connection once the frames queued so far are written; requests still waiting for replies fail,
    /// and ``incoming`` ends. Returns at once; ``closeGracefully()`` waits for the writing to be done.
    public func close() {
        let connection = state.withLock { state in
            state.isClosed = true
            return state.connection
        }
        connection?.source.execute { $0.closeWhenFlushed(then: nil) }
        pushed.finish()
    }

    /// Writes the frames queued so far, closes the connection, and returns once that is done. Call it before a
    /// process exits after ``send(_:)``, which only queues.
    public func closeGracefully() async {
        let connection = state.withLock { state in
            state.isClosed = true
            return state.connection
        }
        if let connection {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                connection.source.execute { $0.closeWhenFlushed(then: continuation) }
            }
        }
        pushed.finish()
    }

    // MARK: Connecting

    /// The live connection, made (or remade, with a reconnect policy) if there is none.
    nonisolated(nonsending) private func connection() async throws -> Connection {
        let (current, isClosed) = state.withLock { ($0.connection, $0.isClosed) }
        if let current { return current }
        if isClosed {
            throw UnixSocketError(
                .connectionClosed, operation: .request, socket: "\(address)", detail: "the client is closed")
        }
        guard let policy = configuration.reconnect else { return try await makeConnection() }
        var delay = policy.initialDelay
        let deadline = ContinuousClock.now + policy.giveUpAfter
        while true {
            do {
                return try await makeConnection()
            } catch let error as UnixSocketError
                where [.noSocketFile, .staleSocketFile, .timedOut].contains(error.code) && .now + delay < deadline
            {
                try await Task.sleep(for: delay)
                delay = min(delay * 2, policy.maximumDelay)
            }
        }
    }

    private func makeConnection() async throws -> Connection {
        let (address, configuration) = (self.address, self.configuration)
        guard configuration.socketType != .datagram else {
            throw UnixSocketError(
                .unsupported, operation: .connect, socket: "\(address)",
                detail: "a FramedClient speaks over stream or seqpacket sockets; use DatagramSocket for datagrams")
        }
        let reactor = self.reactor
        let descriptor = try await NonBlockingConnect.connect(
            to: address, type: configuration.socketType, timeout: configuration.connectTimeout)
        let queue = RequestQueue()
        let pushed = self.pushed
        let owner = WeakClient(self)
        let connection: Connection = await withCheckedContinuation { continuation in
            reactor.perform {
                let source = FramedClientSource(
                    descriptor: descriptor, reactor: reactor, queue: queue, pushed: pushed,
                    maximumFrameSize: configuration.maximumFrameSize, packets: configuration.socketType == .seqPacket,
                    framing: configuration.framing,
                    address: "\(address)",
                    onClose: { owner.client?.connectionClosed(queue) })
                source.start()
                continuation.resume(returning: Connection(queue: queue, source: ReactorBound(source, on: reactor)))
            }
        }
        let winner = state.withLock { state -> Connection in
            if let existing = state.connection { return existing }  // another task connected first
            state.connection = connection
            return connection
        }
        if winner.queue !== connection.queue {
            connection.source.execute { $0.close(UnixSocketError(.connectionClosed, operation: .connect)) }
        }
        return winner
    }

    fileprivate func connectionClosed(_ queue: RequestQueue) {
        let finishes = state.withLock { state in
            if state.connection?.queue === queue { state.connection = nil }
            return configuration.reconnect == nil || state.isClosed
        }
        if finishes { pushed.finish() }
    }

    fileprivate func resumeReading() {
        state.withLock { $0.connection }?.source.execute { $0.resumeReading() }
    }
}

/// A client reference that does not keep the client alive, for callbacks from its connection.
private struct WeakClient: @unchecked Sendable {
    weak var client: FramedClient?
    init(_ client: FramedClient) { self.client = client }
}

/// Lets the pushed-frame sequence's delegate reach its client once the client exists.
private final class ResumeBox: @unchecked Sendable {
    weak var client: FramedClient?
    func resume() { client?.resumeReading() }
}
