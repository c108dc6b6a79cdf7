import UDSKit

/// A varlink connection to a service: typed calls, streams of replies for `more`, `oneway` calls, from any number of
/// tasks at once, pipelined on one connection.
///
/// ```swift
/// let client = try await VarlinkClient.connect(to: VarlinkAddress("unix:/run/example.sock"))
/// let pong = try await client.call("org.example.ping.Ping", Ping(ping: "x"), as: Pong.self)
/// for try await event in client.callMore("org.example.ping.Watch", VarlinkEmpty(), as: Event.self) { … }
/// ```
///
/// Replies come in the order of the calls, so concurrent calls are written in the order they are made and their
/// replies matched in that order. An error reply is thrown as a ``VarlinkError`` carrying its name and parameters.
public final class VarlinkClient: Sendable {
    /// Timeouts and limits of the connection.
    public struct Configuration: Sendable {
        /// How long a connect may wait while the server's backlog is full. Default 10 seconds.
        public var connectTimeout: Duration? = .seconds(10)
        /// Largest reply accepted. Default 16 MiB; a longer one closes the connection and fails the calls waiting.
        public var maximumFrameSize: Int = 16 * 1024 * 1024
        /// How many bytes of a `more` call's replies (their JSON text) are held for a consumer that has not taken
        /// them. Default 1 MiB; past it the client stops reading the connection until the consumer catches up, so the
        /// server, its socket full, waits to send more. The connection's reader holds up to 16 more replies, and the
        /// kernel's socket buffers what they hold. Replies to later calls on the connection wait meanwhile.
        public var maximumBufferedReplyBytes: Int = 1024 * 1024

        public init() {}
    }

    /// The address connected to.
    public let address: VarlinkAddress
    let framed: FramedClient
    let pending: PendingReplies
    let configuration: Configuration

    private init(address: VarlinkAddress, framed: FramedClient, configuration: Configuration) {
        self.address = address
        self.framed = framed
        self.pending = PendingReplies()
        self.configuration = configuration
    }

    /// Connects to the service at `address`.
    ///
    /// - Throws: ``UnixSocketError`` as ``FramedClient/connect(to:configuration:)`` does.
    public static func connect(
        to address: VarlinkAddress, configuration: Configuration = Configuration()
    ) async throws -> VarlinkClient {
        var framedConfiguration = FramedClient.Configuration()
        framedConfiguration.connectTimeout = configuration.connectTimeout
        framedConfiguration.maximumFrameSize = configuration.maximumFrameSize
        framedConfiguration.framing = .delimited(0)
        framedConfiguration.socketType = .stream
        framedConfiguration.reconnect = nil  // replies are matched in order: a new connection would lose the count
        let framed = try await FramedClient.connect(to: address.socket, configuration: framedConfiguration)
        let client = VarlinkClient(address: address, framed: framed, configuration: configuration)
        let pending = client.pending
        Task {
            do {
                // Waits in `deliver` while a `more` call's consumer is behind: reading pauses.
                for try await message in framed.incoming { await pending.deliver(message) }
                pending.close(UnixSocketError(.connectionClosed, operation: .read, socket: "\(address)"))
            } catch {
                pending.close(error)
            }
        }
        return client
    }

    /// Calls `method` with `parameters` and returns the reply's parameters as `Reply`.
    ///
    /// - Throws: ``VarlinkError`` for an error reply; ``UnixSocketError/Code/connectionClosed`` when the connection
    ///   closed first; `DecodingError` when the reply does not decode as `Reply`.
    public func call<Parameters: Encodable & Sendable, Reply: Decodable>(
        _ method: String, _ parameters: Parameters, as replyType: Reply.Type = Reply.self
    ) async throws -> Reply {
        try JSONValueDecoder.decode(Reply.self, from: try await reply(method, parameters))
    }

    /// Calls `method` without parameters.
    public func call<Reply: Decodable>(_ method: String, as replyType: Reply.Type = Reply.self) async throws -> Reply {
        try await call(method, VarlinkEmpty?.none, as: replyType)
    }

    /// Calls `method` with untyped parameters and returns the reply's untyped parameters.
    public func call(_ method: String, parameters: JSONValue?) async throws -> JSONValue {
        try await reply(method, parameters)
    }

    private func reply(_ method: String, _ parameters: (some Encodable & Sendable)?) async throws -> JSONValue {
        let bytes = try VarlinkJSON.encode(
            TypedCall(method: method, parameters: parameters, oneway: false, more: false))
        let slot = ReplySlot()
        try await pending.send(Message(bytes: bytes), expecting: .single(slot), on: framed)
        return try await slot.value()
    }

    /// Calls `method` with `more`: the replies as they come, until one without `continues`.
    ///
    /// The call is made when iteration starts. An error reply ends the sequence by throwing its ``VarlinkError``.
    /// Replies the consumer has not taken are held up to ``Configuration/maximumBufferedReplyBytes``; past that,
    /// reading from the connection pauses until the consumer catches up.
    public func callMore<Parameters: Encodable & Sendable, Reply: Decodable & Sendable>(
        _ method: String, _ parameters: Parameters, as replyType: Reply.Type = Reply.self
    ) -> VarlinkReplySequence<Reply> {
        replies(method, parameters)
    }

    /// Calls `method` with `more` and untyped parameters.
    public func callMore(_ method: String, parameters: JSONValue?) -> VarlinkReplySequence<JSONValue> {
        replies(method, parameters)
    }

    private func replies<Reply>(_ method: String, _ parameters: (some Encodable & Sendable)?)
        -> VarlinkReplySequence<Reply>
    {
        let (pending, framed) = (self.pending, self.framed)
        let limit = configuration.maximumBufferedReplyBytes
        return VarlinkReplySequence {
            let call = TypedCall(method: method, parameters: parameters, oneway: false, more: true)
            let buffer = ReplyBuffer(limit: limit)
            try await pending.send(Message(bytes: try VarlinkJSON.encode(call)), expecting: .stream(buffer), on: framed)
            return buffer
        }
    }

    /// Calls `method` with `oneway`: the server sends no reply. Returns once the call is queued.
    public func callOneway<Parameters: Encodable & Sendable>(_ method: String, _ parameters: Parameters) async throws {
        let bytes = try VarlinkJSON.encode(TypedCall(method: method, parameters: parameters, oneway: true, more: false))
        try await pending.send(Message(bytes: bytes), expecting: nil, on: framed)
    }

    /// Writes the calls queued so far and closes the connection; calls still waiting fail.
    public func close() async {
        await framed.closeGracefully()
    }
}
