import NIOCore

/// Frames as they arrive on a framed connection, with backpressure: a ``FramedServerConnection``'s inbound frames,
/// and the frames a server pushes to a ``FramedClient`` (``FramedClient/incoming``).
public struct FrameSequence: AsyncSequence, Sendable {
    public typealias Element = Message
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        Message, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, FramedInboundDelegate
    >
    let producer: Producer
    /// Names the handoff of frames from the reactor to the consumer for Thread Sanitizer (see ``ThreadSanitizer``).
    let handoff: HandoffToken

    /// The producing end, on the reactor.
    typealias Source = HandoffSource<Message, FramedInboundDelegate>

    /// A sequence and its source, with the given delegate and backpressure.
    static func make(delegate: FramedInboundDelegate) -> (sequence: FrameSequence, source: Source) {
        let handoff = HandoffToken()
        let made = Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: 4, highWatermark: 16), finishOnDeinit: true, delegate: delegate)
        return (FrameSequence(producer: made.sequence, handoff: handoff), Source(base: made.source, handoff: handoff))
    }

    /// A sequence that has already ended: the ``FramedServerConnection/inbound`` of a connection whose frames come
    /// a read at a time.
    static func empty() -> FrameSequence {
        let made = make(delegate: FramedInboundDelegate(resume: {}))
        made.source.finish()
        return made.sequence
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator
        let handoff: HandoffToken

        public mutating func next() async throws -> Message? {
            defer { ThreadSanitizer.acquire(handoff) }  // pairs with the source's release, frame or error alike
            return try await base.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: producer.makeAsyncIterator(), handoff: handoff)
    }
}

/// Resumes reading from the connection when the consumer has taken enough frames.
struct FramedInboundDelegate: NIOAsyncSequenceProducerDelegate {
    let resume: @Sendable () -> Void
    func produceMore() { resume() }
    func didTerminate() {}
}
