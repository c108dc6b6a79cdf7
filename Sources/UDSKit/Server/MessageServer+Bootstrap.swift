import Logging
import NIOCore
import NIOPosix

extension MessageServer {
    /// The NIO bootstrap: accept backoff on the listener, half-closure and the message handler on each connection.
    func makeBootstrap() -> ServerBootstrap {
        let logger = self.logger
        let backoff = TimeAmount.nanoseconds(Int64(configuration.acceptBackoff.components.seconds) * 1_000_000_000
            + configuration.acceptBackoff.components.attoseconds / 1_000_000_000)
        let readSize = configuration.maximumReadSize
        return ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        AcceptBackoffHandler(shouldForwardIOErrorCaught: true) { _ in backoff },
                        AcceptErrorLogger(logger: logger, backoff: backoff)
                    )
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 * 1024, maximum: readSize)
            )
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.initializeConnection(channel)
                }
            }
    }

    /// Installs the handler for one accepted connection. Runs on the connection's event loop.
    private func initializeConnection(_ channel: any Channel) throws {
        let id = connections.add(channel)
        var logger = self.logger
        logger[metadataKey: "uds.connection"] = "\(id)"
        let context = MessageContext(connectionID: id, logger: logger)
        let pipeline = channel.pipeline.syncOperations
        switch handler.kind {
        case .acknowledge:
            try pipeline.addHandler(
                CountingHandler(reply: .acknowledge, limit: configuration.maximumStreamedMessageSize, logger: logger))
        case .discard:
            try pipeline.addHandler(
                CountingHandler(reply: .none, limit: configuration.maximumStreamedMessageSize, logger: logger))
        case .echo:
            try pipeline.addHandler(EchoHandler(limit: configuration.maximumStreamedMessageSize, logger: logger))
        case .buffered(let body):
            try pipeline.addHandler(
                BufferingHandler(limit: configuration.maximumMessageSize, context: context, body: body))
        case .streaming(let body):
            try pipeline.addHandler(
                StreamingHandler(limit: configuration.maximumStreamedMessageSize, context: context, body: body))
        }
    }
}

/// Logs accept failures (out of descriptors, out of buffers) at most once a second; `AcceptBackoffHandler` before it
/// pauses accepting, and the server goes on.
final class AcceptErrorLogger: ChannelInboundHandler {
    typealias InboundIn = any Channel
    private let logger: Logger
    private let backoff: TimeAmount
    private var lastLogged: NIODeadline = .uptimeNanoseconds(0)

    init(logger: Logger, backoff: TimeAmount) {
        self.logger = logger
        self.backoff = backoff
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let now = NIODeadline.now()
        if now - lastLogged >= .seconds(1) {
            lastLogged = now
            logger.warning(
                "accept failed; pausing before accepting again",
                metadata: ["uds.error": "\(error)", "uds.pause_ms": "\(backoff.nanoseconds / 1_000_000)"])
        }
    }
}

extension ChannelHandlerContext {
    /// Writes `reply` (if any), then closes once it has been flushed: closing earlier could drop it.
    func replyAndClose(_ reply: ByteBuffer?) {
        guard let reply, reply.readableBytes > 0 else {
            close(promise: nil)
            return
        }
        let channel = self.channel
        writeAndFlush(NIOAny(reply)).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// `true` for the event that says the peer half-closed (end of the message).
func isEndOfMessage(_ event: Any) -> Bool {
    if let event = event as? ChannelEvent, event == .inputClosed { return true }
    return false
}

/// The error reply for a message past `limit` bytes.
func tooLargeReply(limit: Int) -> ByteBuffer {
    Acknowledgement.errorReply("message exceeds the limit of \(limit) bytes").buffer
}
