import UDSKit

/// The replies of one `more` call that its consumer has not taken yet, bounded in bytes.
///
/// The task that reads the connection appends to it; once more than `limit` bytes are held, ``append(_:size:last:)``
/// waits until the consumer takes some, so the client stops reading the connection and the server, its socket full,
/// waits in its `send`. A consumer that goes away (its iterator is dropped, or its task cancelled) abandons the
/// buffer: what is held is freed and later replies of the call are dropped as they come, so the connection goes on.
final class ReplyBuffer: Sendable {
    private struct State {
        var replies: [(value: JSONValue, size: Int)] = []
        var first = 0
        var bytes = 0
        /// Set once the last reply is appended (`.success`) or the call fails; `nil` after the consumer saw a failure.
        var end: Result<Void, any Error>?
        var ended = false
        var abandoned = false
        var consumer: CheckedContinuation<JSONValue?, any Error>?
        var producer: CheckedContinuation<Void, Never>?
    }
    private let state = Locked(State())
    /// The most bytes held before ``append(_:size:last:)`` waits.
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// The bytes held, and whether the reading task waits for the consumer: what the tests check.
    var held: (bytes: Int, readerWaits: Bool) { state.withLock { ($0.bytes, $0.producer != nil) } }

    /// Adds a reply of `size` bytes (its JSON text) and returns once the consumer has room for more.
    func append(_ value: JSONValue, size: Int, last: Bool) async {
        enum Appended {
            case taken(CheckedContinuation<JSONValue?, any Error>)
            case held(overLimit: Bool)
        }
        let appended = state.withLock { state -> Appended in
            guard !state.abandoned, !state.ended else { return .held(overLimit: false) }
            if last {
                state.end = .success(())
                state.ended = true
            }
            if let consumer = state.consumer {
                state.consumer = nil
                return .taken(consumer)
            }
            state.replies.append((value, size))
            state.bytes += size
            return .held(overLimit: state.bytes > limit)
        }
        switch appended {
        case .taken(let consumer): consumer.resume(returning: value)
        case .held(overLimit: false): return
        case .held(overLimit: true):
            await withCheckedContinuation { (producer: CheckedContinuation<Void, Never>) in
                let waits = state.withLock { state in
                    guard state.bytes > limit, !state.abandoned else { return false }
                    state.producer = producer
                    return true
                }
                if !waits { producer.resume() }
            }
        }
    }

    /// Ends the replies with `error`, after those held.
    func fail(_ error: any Error) {
        let (consumer, producer) = state.withLock { state in
            if !state.ended {
                state.end = .failure(error)
                state.ended = true
            }
            defer { (state.consumer, state.producer) = (nil, nil) }
            return (state.consumer, state.producer)
        }
        producer?.resume()
        if let consumer { finish(consumer) }
    }

    /// The next reply; `nil` after the last.
    ///
    /// - Throws: the error that ended the call (once), or `CancellationError` when the consumer's task is cancelled,
    ///   which abandons the buffer.
    func next() async throws -> JSONValue? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (consumer: CheckedContinuation<JSONValue?, any Error>) in
                enum Next {
                    case reply(JSONValue, CheckedContinuation<Void, Never>?)
                    case end
                    case wait
                }
                let next = state.withLock { state -> Next in
                    if state.first < state.replies.count {
                        let reply = state.replies[state.first]
                        state.first += 1
                        state.bytes -= reply.size
                        if state.first == state.replies.count {
                            state.replies.removeAll(keepingCapacity: true)
                            state.first = 0
                        } else if state.first > 64, state.first * 2 > state.replies.count {
                            state.replies.removeFirst(state.first)
                            state.first = 0
                        }
                        var producer: CheckedContinuation<Void, Never>?
                        if state.bytes <= limit {
                            producer = state.producer
                            state.producer = nil
                        }
                        return .reply(reply.value, producer)
                    }
                    if state.ended || state.abandoned { return .end }
                    state.consumer = consumer
                    return .wait
                }
                switch next {
                case .reply(let value, let producer):
                    producer?.resume()
                    consumer.resume(returning: value)
                case .end: finish(consumer)
                case .wait: break
                }
            }
        } onCancel: {
            abandon()
        }
    }

    /// The consumer is gone: frees what is held, drops the replies still to come, lets the reading task go on.
    func abandon() {
        let (consumer, producer) = state.withLock { state in
            state.abandoned = true
            state.replies = []
            state.first = 0
            state.bytes = 0
            defer { (state.consumer, state.producer) = (nil, nil) }
            return (state.consumer, state.producer)
        }
        producer?.resume()
        consumer?.resume(throwing: CancellationError())
    }

    /// Answers a consumer at the end: the failure once, then `nil`.
    private func finish(_ consumer: CheckedContinuation<JSONValue?, any Error>) {
        let end = state.withLock { state -> Result<Void, any Error>? in
            if state.abandoned, !state.ended { return .failure(CancellationError()) }
            defer { state.end = nil }
            return state.end
        }
        switch end {
        case .failure(let error)?: consumer.resume(throwing: error)
        default: consumer.resume(returning: nil)
        }
    }
}
