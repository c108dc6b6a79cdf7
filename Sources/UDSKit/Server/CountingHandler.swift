import Logging
import NIOCore

/// Counts a message's bytes as they arrive, keeping none, and at its end replies with the count or nothing.
/// Runs on the event loop alone: the fast path behind ``MessageHandler/acknowledge`` and ``MessageHandler/discard``.
final class CountingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Reply { case acknowledge, none }
    private let reply: Reply
    private let limit: Int?
    private let logger: Logger
    private var count = 0
    private var isDone = false

    init(reply: Reply, limit: Int?, logger: Logger) {
        self.reply = reply
        self.limit = limit
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isDone else { return }
        count += unwrapInboundIn(data).readableBytes
        if let limit, count > limit {
            isDone = true
            logger.warning("message refused: too large", metadata: ["uds.limit": "\(limit)"])
            context.replyAndClose(tooLargeReply(limit: limit))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard isEndOfMessage(event) else { return context.fireUserInboundEventTriggered(event) }
        guard !isDone else { return }
        isDone = true
        switch reply {
        case .acknowledge:
            var buffer = context.channel.allocator.buffer(capacity: 21)
            buffer.writeString(String(count))
            buffer.writeInteger(UInt8(ascii: "\n"))
            context.replyAndClose(buffer)
        case .none:
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection failed", metadata: ["uds.error": "\(error)"])
        isDone = true
        context.close(promise: nil)
    }
}
