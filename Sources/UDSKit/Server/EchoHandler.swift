import Logging
import NIOCore

/// Writes each chunk back as it arrives and closes after the last; behind ``MessageHandler/echo``.
///
/// Writes are flushed once per read burst. While the client does not read its echo, reading pauses, so memory stays
/// bounded.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let limit: Int?
    private let logger: Logger
    private var count = 0
    private var isDone = false

    init(limit: Int?, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isDone else { return }
        let chunk = unwrapInboundIn(data)
        count += chunk.readableBytes
        if let limit, count > limit {
            isDone = true
            logger.warning("message refused: too large", metadata: ["uds.limit": "\(limit)"])
            context.replyAndClose(tooLargeReply(limit: limit))
            return
        }
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Backpressure: stop reading while the client is not taking its echo.
        context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard isEndOfMessage(event) else { return context.fireUserInboundEventTriggered(event) }
        guard !isDone else { return }
        isDone = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection failed", metadata: ["uds.error": "\(error)"])
        isDone = true
        context.close(promise: nil)
    }
}
