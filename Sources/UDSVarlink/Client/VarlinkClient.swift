public import UDSKit

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
    /// Limits of the connection, as ``FramedClient/Configuration``; its framing is set to `.delimited(0)`.
    public typealias Configuration = FramedClient.Configuration

    /// The address connected to.
    public let address: VarlinkAddress
    let framed: FramedClient
    let pending: PendingReplies

    private init(address: VarlinkAddress, framed: FramedClient) {
        self.address = address
        self.framed = framed
        self.pending = PendingReplies()
    }

    /// Connects to the service at `address`.
    ///
    /// `configuration`'s ``FramedClient/Configuration/maximumFrameSize`` (default 16 MiB) is the largest reply
    /// accepted; a longer one closes the connection and fails the calls waiting.
    ///
    /// - Throws: ``UnixSocketError`` as ``FramedClient/connect(to:configuration:)`` does.
    public static func connect(
        to address: VarlinkAddress, configuration: Configuration = Configuration()
    ) async throws -> VarlinkClient {
        var configuration = configuration
        configuration.framing = .delimited(0)
        configuration.socketType = .stream
        configuration.reconnect = nil  // replies are matched in order: a new connection would lose the count
        let framed = try await FramedClient.connect(to: address.socket, configuration: configuration)
        let client = VarlinkClient(address: address, framed: framed)
        let pending = client.pending
        Task {
            do {
                for try await message in framed.incoming { pending.deliver(message) }
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
    /// Replies the consumer has not taken are buffered.
    public func callMore<Parameters: Encodable & Sendable, Reply: Decodable & Sendable>(
        _ method: String, _ parameters: Parameters, as replyType: Reply.Type = Reply.self
    ) -> AsyncThrowingStream<Reply, any Error> {
        let raw = callMore(method, parameters: try? VarlinkJSON.value(of: parameters))
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await value in raw {
                        continuation.yield(try JSONValueDecoder.decode(Reply.self, from: value))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Calls `method` with `more` and untyped parameters.
    public func callMore(_ method: String, parameters: JSONValue?) -> AsyncThrowingStream<JSONValue, any Error> {
        let (stream, continuation) = AsyncThrowingStream<JSONValue, any Error>.makeStream()
        let pending = self.pending
        let framed = self.framed
        Task {
            do {
                let bytes = try VarlinkJSON.encode(
                    TypedCall(method: method, parameters: parameters, oneway: false, more: true))
                try await pending.send(Message(bytes: bytes), expecting: .stream(continuation), on: framed)
            } catch {
                continuation.finish(throwing: error)
            }
        }
        return stream
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
