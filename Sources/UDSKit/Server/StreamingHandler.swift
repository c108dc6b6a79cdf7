import Logging
import NIOCore

/// Feeds a message's chunks to an async handler as they arrive, reading only while it keeps up; behind
/// ``MessageHandler/streaming(_:)``.
final class StreamingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    typealias Body = @Sendable (MessageBody, MessageContext) async throws -> Message

    private let limit: Int?
    private let context: MessageContext
    private let body: Body
    private var source: MessageBody.Producer.Source?
    private var count = 0
    /// Whether the handler wants more chunks now; reading stops while it does not.
    private var wantsMore = true

    init(limit: Int?, context: MessageContext, body: @escaping Body) {
        self.limit = limit
        self.context = context
        self.body = body
    }

    func handlerAdded(context: ChannelHandlerContext) {
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        let delegate = StreamingBodyDelegate(handler: NIOLoopBound(self, eventLoop: context.eventLoop),
                                             context: NIOLoopBound(context, eventLoop: context.eventLoop))
        let sequence = MessageBody.Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: true, delegate: delegate)
        source = sequence.source
        let body = MessageBody(producer: sequence.sequence)
        let channel = context.channel
        let (handler, messageContext) = (self.body, self.context)
        Task {
            let reply: Message
            do {
                reply = try await handler(body, messageContext)
            } catch {
                messageContext.logger.warning("handler failed", metadata: ["uds.error": "\(error)"])
                reply = errorReply(for: error)
            }
            channel.replyAndClose(reply.buffer)
        }
        if context.channel.isActive { context.read() }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let source else { return }
        let chunk = unwrapInboundIn(data)
        count += chunk.readableBytes
        if let limit, count > limit {
            self.context.logger.warning("message refused: too large", metadata: ["uds.limit": "\(limit)"])
            finish(UnixSocketError(.messageTooLarge, operation: "read", detail: "more than the limit of \(limit) bytes"))
            return
        }
        switch source.yield(chunk) {
        case .produceMore: wantsMore = true
        case .stopProducing: wantsMore = false
        case .dropped: wantsMore = false
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if wantsMore && source != nil { context.read() }
        context.fireChannelReadComplete()
    }

    /// The handler has taken enough chunks: read again.
    func resumeReading(_ context: ChannelHandlerContext) {
        guard !wantsMore, source != nil else { return }
        wantsMore = true
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard isEndOfMessage(event) else { return context.fireUserInboundEventTriggered(event) }
        finish(nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.context.logger.debug("connection failed", metadata: ["uds.error": "\(error)"])
        finish(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(UnixSocketError(.connectionClosed, operation: "read", detail: "the client went away mid-message"))
        context.fireChannelInactive()
    }

    private func finish(_ error: (any Error)?) {
        guard let source else { return }
        self.source = nil
        if let error { source.finish(error) } else { source.finish() }
    }
}

/// Tells the ``StreamingHandler`` on its event loop when the consumer wants more.
struct StreamingBodyDelegate: NIOAsyncSequenceProducerDelegate {
    let handler: NIOLoopBound<StreamingHandler>
    let context: NIOLoopBound<ChannelHandlerContext>

    func produceMore() {
        handler.eventLoop.execute { handler.value.resumeReading(context.value) }
    }

    func didTerminate() {}
}
