import Logging

/// What a framed ``MessageServer`` does on each persistent connection: a built-in reply per frame, a function from
/// request to reply, or your code with the whole connection.
///
/// On a framed connection a message is a frame: a 4-byte unsigned big-endian length, then that many bytes. The
/// connection stays open for any number of frames in both directions until the client closes it.
///
/// ```swift
/// let server = MessageServer(address: address, framedHandler: .requests { request, context in
///     Message("pong: \(request.string)")
/// })
/// ```
public struct FramedHandler: Sendable {
    typealias Requests = @Sendable (Message, MessageContext) async throws -> Message
    typealias Connection = @Sendable (FramedServerConnection) async throws -> Void
    enum Kind: Sendable {
        case echo
        case acknowledge
        case discard
        case connection(Connection)
        case bursts(Connection)
    }
    let kind: Kind

    /// Sends every frame back as it came, on the event loop; replies to one read leave in one write.
    public static let echo = FramedHandler(kind: .echo)
    /// Answers every frame with a frame holding its payload's byte count in ASCII decimal and `"\n"`.
    public static let acknowledge = FramedHandler(kind: .acknowledge)
    /// Reads frames and sends nothing back.
    public static let discard = FramedHandler(kind: .discard)

    /// Runs `body` on each frame, one at a time in the order they came, and sends back what it returns, in order.
    ///
    /// A frame that `body` throws for gets an error frame (`error: …`, see ``MessageRejection``); the connection
    /// goes on. An empty reply sends an empty frame. Requests read but not yet answered wait for `body`, up to
    /// 64 KiB of them; past that the server stops reading the connection until `body` catches up.
    public static func requests(
        _ body: @escaping @Sendable (Message, MessageContext) async throws -> Message
    ) -> FramedHandler {
        // On bursts: a read's requests come in one batch, not one `FrameSequence` element each (BENCHMARKS.md,
        // "Varlink", third session: the per-frame hand-over cost more than a small request's work).
        FramedHandler(
            kind: .bursts { connection in
                while let requests = try await connection.nextFrames() {
                    for request in requests {
                        try await answer(request, with: body, on: connection)
                    }
                }
            })
    }

    /// Runs `body` on one request and sends its reply, or the error reply for what it threw.
    private static func answer(
        _ request: Message, with body: @Sendable (Message, MessageContext) async throws -> Message,
        on connection: FramedServerConnection
    ) async throws {
        let reply: Message
        let started = ContinuousClock.now
        do {
            reply = try await body(request, connection.context)
        } catch {
            connection.context.logger.warning("handler failed", metadata: ["uds.error": "\(error)"])
            connection.context.counters.handlerFailed()
            reply = errorReply(for: error)
        }
        connection.context.counters.handlerFinished(startedAt: started)
        try await connection.send(reply)
    }

    /// Runs `body` with each connection: its inbound frames as an `AsyncSequence`, and a `send` for frames to the
    /// client at any time (replies, notifications). The connection closes when `body` returns or throws.
    public static func connection(
        _ body: @escaping @Sendable (FramedServerConnection) async throws -> Void
    ) -> FramedHandler {
        FramedHandler(kind: .connection(body))
    }

    /// Runs `body` with each connection, whose inbound frames come a read at a time from
    /// ``FramedServerConnection/nextFrames()`` (its ``FramedServerConnection/inbound`` is empty): for a server that
    /// answers pipelined requests by the thousand, as ``requests(_:)`` and UDSVarlink's do.
    package static func bursts(
        _ body: @escaping @Sendable (FramedServerConnection) async throws -> Void
    ) -> FramedHandler {
        FramedHandler(kind: .bursts(body))
    }
}
