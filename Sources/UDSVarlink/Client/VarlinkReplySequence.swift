/// The replies to a `more` call, as they come, until the one without `continues`; from
/// ``VarlinkClient/callMore(_:_:as:)``.
///
/// The call is made when iteration starts. An error reply ends the sequence by throwing its ``VarlinkError`` (or
/// what ``mapError(_:)`` made of it). Replies the consumer has not taken are held up to
/// ``VarlinkClient/Configuration/maximumBufferedReplyBytes``; past that the client stops reading the connection
/// until the consumer catches up. Iterate it once: each iterator makes the call again.
public struct VarlinkReplySequence<Reply: Decodable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = Reply

    /// Makes the call and returns the buffer its replies go to.
    let start: @Sendable () async throws -> ReplyBuffer
    let transformError: (@Sendable (VarlinkError) -> any Error)?

    init(start: @escaping @Sendable () async throws -> ReplyBuffer) {
        self.start = start
        self.transformError = nil
    }

    private init(
        start: @escaping @Sendable () async throws -> ReplyBuffer,
        transformError: @escaping @Sendable (VarlinkError) -> any Error
    ) {
        self.start = start
        self.transformError = transformError
    }

    /// The same replies, with an error reply thrown as what `transform` makes of it: how the generated clients
    /// throw an interface's own error type.
    public func mapError(_ transform: @escaping @Sendable (VarlinkError) -> any Error) -> VarlinkReplySequence<Reply> {
        VarlinkReplySequence(start: start, transformError: transform)
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: VarlinkReplySequence
        var consumer: Consumer?
        var failedToStart = false

        /// The next reply; `nil` after the last.
        ///
        /// - Throws: ``VarlinkError`` for an error reply; ``UnixSocketError/Code/connectionClosed`` when the
        ///   connection closed first; `DecodingError` when a reply does not decode as `Reply`; `CancellationError`
        ///   when the task is cancelled, which gives up the rest of the replies.
        public mutating func next() async throws -> Reply? {
            if consumer == nil {
                guard !failedToStart else { return nil }
                do {
                    consumer = Consumer(buffer: try await sequence.start())
                } catch {
                    failedToStart = true
                    throw error
                }
            }
            do {
                guard let value = try await consumer!.buffer.next() else { return nil }
                return try JSONValueDecoder.decode(Reply.self, from: value)
            } catch let error as VarlinkError {
                throw sequence.transformError?(error) ?? error
            }
        }
    }

    /// Holds the call's buffer while the iterator lives, and abandons it when the iterator is dropped.
    final class Consumer: Sendable {
        let buffer: ReplyBuffer
        init(buffer: ReplyBuffer) { self.buffer = buffer }
        deinit { buffer.abandon() }
    }
}
