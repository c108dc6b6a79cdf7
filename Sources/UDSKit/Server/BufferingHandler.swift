import Logging
import NIOCore

/// Gathers a whole message, then runs an async handler with it and writes its reply; behind
/// ``MessageHandler/buffered(_:)``.
final class BufferingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    typealias Body = @Sendable (Message, MessageContext) async throws -> Message

    private let limit: Int
    private let context: MessageContext
    private let body: Body
    private var message: ByteBuffer?
    private var isDone = false

    init(limit: Int, context: MessageContext, body: @escaping Body) {
        self.limit = limit
        self.context = context
        self.body = body
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isDone else { return }
        var chunk = unwrapInboundIn(data)
        let size = (message?.readableBytes ?? 0) + chunk.readableBytes
        guard size <= limit else {
            isDone = true
            message = nil
            self.context.logger.warning("message refused: too large", metadata: ["uds.limit": "\(limit)"])
            context.replyAndClose(tooLargeReply(limit: limit))
            return
        }
        if message == nil {
            message = chunk
        } else {
            message!.writeBuffer(&chunk)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard isEndOfMessage(event) else { return context.fireUserInboundEventTriggered(event) }
        guard !isDone else { return }
        isDone = true
        let message = Message(buffer: self.message ?? ByteBuffer())
        self.message = nil
        let channel = context.channel
        let (body, messageContext) = (self.body, self.context)
        Task {
            let reply: Message
            do {
                reply = try await body(message, messageContext)
            } catch {
                messageContext.logger.warning("handler failed", metadata: ["uds.error": "\(error)"])
                reply = errorReply(for: error)
            }
            channel.replyAndClose(reply.buffer)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.context.logger.debug("connection failed", metadata: ["uds.error": "\(error)"])
        isDone = true
        message = nil
        context.close(promise: nil)
    }
}

extension Channel {
    /// Writes `reply` (if any) and closes once it has been flushed. Safe from any thread.
    func replyAndClose(_ reply: ByteBuffer) {
        guard reply.readableBytes > 0 else {
            close(promise: nil)
            return
        }
        writeAndFlush(reply).whenComplete { _ in self.close(promise: nil) }
    }
}
