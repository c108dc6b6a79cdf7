public import Logging
public import NIOCore

/// What a ``MessageServer`` does with each message: one of the built-in replies, or your code.
///
/// The built-in handlers run on the event loop that read the bytes and stream, so they need no memory in
/// proportion to the message and cost no thread hop:
///
/// ```swift
/// let server = MessageServer(address: address, handler: .acknowledge)
/// ```
///
/// Your code comes in two shapes. ``buffered(_:)`` gets the whole message (up to
/// ``MessageServer/Configuration/maximumMessageSize``) and returns the reply; ``streaming(_:)`` gets the message as
/// an `AsyncSequence` of chunks as they arrive, with backpressure, for messages of any size.
///
/// A handler that throws gets its connection an error reply (`error: …`, see ``Acknowledgement``); other connections
/// are not affected. An empty reply means no reply: the server just closes.
public struct MessageHandler: Sendable {
    typealias Buffered = @Sendable (Message, MessageContext) async throws -> Message
    typealias Streaming = @Sendable (MessageBody, MessageContext) async throws -> Message
    enum Kind: Sendable {
        case acknowledge
        case echo
        case discard
        case buffered(Buffered)
        case streaming(Streaming)
    }
    let kind: Kind

    /// Replies with the number of bytes received, in ASCII decimal and `"\n"` (see ``Acknowledgement``).
    public static let acknowledge = MessageHandler(kind: .acknowledge)
    /// Replies with the message itself, streamed back as it arrives.
    public static let echo = MessageHandler(kind: .echo)
    /// Reads the message and closes without a reply.
    public static let discard = MessageHandler(kind: .discard)

    /// Runs `body` with the whole message once the client has half-closed, and sends back what it returns.
    ///
    /// The message is held in memory; past ``MessageServer/Configuration/maximumMessageSize`` the client gets an
    /// error reply and `body` is not called.
    public static func buffered(
        _ body: @escaping @Sendable (Message, MessageContext) async throws -> Message
    ) -> MessageHandler {
        MessageHandler(kind: .buffered(body))
    }

    /// Runs `body` as soon as a client connects, with the message as chunks in the order they arrive, and sends back
    /// what it returns.
    ///
    /// Reading from the socket pauses while `body` has not taken the chunks already read, so memory stays bounded
    /// whatever the size of the message. Iteration throws if the connection fails before the client half-closed.
    /// Bytes `body` leaves unread when it returns are discarded.
    public static func streaming(
        _ body: @escaping @Sendable (MessageBody, MessageContext) async throws -> Message
    ) -> MessageHandler {
        MessageHandler(kind: .streaming(body))
    }
}

/// What a handler knows about the connection its message came on.
public struct MessageContext: Sendable {
    /// A number for this connection, unique within its server, for logs.
    public let connectionID: Int
    /// The server's logger, with the connection ID as metadata `uds.connection`.
    public let logger: Logger
    /// The connecting process's IDs, as the kernel reported them at accept; `nil` if they could not be read.
    public let peer: PeerCredentials?
    /// Open files, pipes or sockets the client passed with its message (`SCM_RIGHTS`), for
    /// ``MessageHandler/buffered(_:)`` handlers; at most ``MessageServer/Configuration/maximumDescriptorsPerMessage``.
    /// Each closes when released, unless taken.
    public let descriptors: [ReceivedDescriptor]
    /// The peer process as a pidfd (`SO_PEERPIDFD`, Linux 6.5 and later; `nil` elsewhere), taken at accept. Unlike
    /// ``PeerCredentials/processID``, it keeps naming that process even if it exits and its pid is reused: poll it
    /// to learn when the process exits, or pass it to `pidfd_send_signal(2)`. Closed when the context is released.
    public let peerProcess: ReceivedDescriptor?
    let counters: ServerCounters
}

/// The bytes of a message as they arrive, in chunks: an `AsyncSequence` with backpressure.
public struct MessageBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark,
        StreamingBodyDelegate
    >
    let producer: Producer
    /// Names the handoff of chunks from the reactor to the handler for Thread Sanitizer (see ``ThreadSanitizer``).
    let handoff: HandoffToken

    /// The producing end, on the reactor.
    typealias Source = HandoffSource<ByteBuffer, StreamingBodyDelegate>

    /// A body and its source, with the given delegate and backpressure.
    static func make(delegate: StreamingBodyDelegate) -> (body: MessageBody, source: Source) {
        let handoff = HandoffToken()
        let made = Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: true, delegate: delegate)
        return (MessageBody(producer: made.sequence, handoff: handoff), Source(base: made.source, handoff: handoff))
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator
        let handoff: HandoffToken

        public mutating func next() async throws -> ByteBuffer? {
            defer { ThreadSanitizer.acquire(handoff) }  // pairs with the source's release, chunk or error alike
            return try await base.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: producer.makeAsyncIterator(), handoff: handoff)
    }

    /// Gathers every chunk into one message.
    ///
    /// - Throws: ``UnixSocketError`` with ``UnixSocketError/Code/messageTooLarge`` past `maximumSize` bytes.
    public func collect(upTo maximumSize: Int) async throws -> Message {
        var whole = ByteBuffer()
        for try await var chunk in self {
            guard whole.readableBytes + chunk.readableBytes <= maximumSize else {
                throw UnixSocketError(
                    .messageTooLarge, operation: .read, detail: "more than the limit of \(maximumSize) bytes")
            }
            whole.writeBuffer(&chunk)
        }
        return Message(buffer: whole)
    }
}
