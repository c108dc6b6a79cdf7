import NIOCore
import Synchronization

/// One persistent framed connection, as a ``FramedHandler/connection(_:)`` handler sees it: frames in as an
/// `AsyncSequence`, frames out with ``send(_:)``.
///
/// Backpressure works both ways. While the handler does not take inbound frames, the server stops reading from the
/// client; while the client does not read, ``send(_:)`` waits once
/// ``MessageServer/Configuration/maximumOutboundBytes`` are queued.
public final class FramedServerConnection: Sendable {
    /// The frames the client sends, in order. Iteration ends when the client closes the connection and throws if
    /// it fails (for example a frame longer than ``MessageServer/Configuration/maximumFrameSize``).
    public var inbound: FrameSequence {
        switch frames {
        case .sequence(let sequence): return sequence
        case .bursts: return FrameSequence.empty()  // its frames come from nextFrames()
        }
    }
    /// The connection's ID, logger and peer credentials.
    public let context: MessageContext
    let outbox: Outbox
    /// Where the inbound frames come from: a sequence, or a read at a time (``FramedHandler/bursts(_:)``).
    enum Frames {
        case sequence(FrameSequence)
        case bursts(FrameBursts)
    }
    private let frames: Frames
    private let connection: ReactorBound<FramedConnection>
    /// How each message sent is marked out (``MessageServer/Configuration/framing``).
    let framing: Framing

    init(
        frames: Frames, context: MessageContext, outbox: Outbox, connection: ReactorBound<FramedConnection>,
        framing: Framing = .lengthPrefixed
    ) {
        self.framing = framing
        self.frames = frames
        self.context = context
        self.outbox = outbox
        self.connection = connection
    }

    /// Queues `message` as one frame to the client; waits while the client is behind on reading.
    ///
    /// - Throws: ``UnixSocketError/Code/connectionClosed`` once the connection is closed.
    public func send(_ message: Message) async throws {
        // Under the limit there is nothing to wait for: returning without a continuation saves the task a trip
        // through its executor's queue per frame.
        if try message.buffer.withUnsafeReadableBytes({ try enqueue($0) }) { return }
        try await waitForSpace()
    }

    /// Queues one message of `payload`'s bytes, as ``send(_:)`` does but without waiting: for a caller that writes
    /// its message in place. Returns whether the queue has room for more; if not, ``waitForSpace()`` before the next.
    ///
    /// - Throws: ``UnixSocketError/Code/connectionClosed`` once the connection is closed.
    package func enqueue(_ payload: UnsafeRawBufferPointer) throws(UnixSocketError) -> Bool {
        switch outbox.enqueue(payload, framing: framing) {
        case .closed:
            throw UnixSocketError(.connectionClosed, operation: .send, detail: "the connection is closed")
        case .queued(let schedulesDrain, let hasSpace):
            if schedulesDrain { connection.execute { $0.drainOutbox() } }
            return hasSpace
        }
    }

    /// Returns once the queue is under ``MessageServer/Configuration/maximumOutboundBytes``.
    ///
    /// - Throws: ``UnixSocketError/Code/connectionClosed`` once the connection is closed.
    package nonisolated(nonsending) func waitForSpace() async throws {
        try await outbox.waitForSpace()
    }

    /// The frames the client sent since the last call, in order, waiting for some if none came; `nil` once the
    /// client closed its side. Only for a connection of ``FramedHandler/bursts(_:)``.
    ///
    /// - Throws: what ended the input otherwise (a malformed frame, the connection's closing).
    package nonisolated(nonsending) func nextFrames() async throws -> FrameBatch? {
        guard case .bursts(let bursts) = frames else {
            preconditionFailure("nextFrames() is for the connections of FramedHandler.bursts")
        }
        return try await bursts.next()
    }

    /// Whether the client stopped taking what the server writes (`EPIPE`, `ECONNRESET`): frames sent now are
    /// dropped. A handler that streams replies can stop early.
    public var isOutputClosed: Bool { outbox.isOutputClosed }

    /// Closes the connection once the frames queued so far are written.
    public func close() {
        connection.execute { $0.closeWhenFlushed() }
    }
}

/// Frames queued by a handler's task for the reactor to write, with a bound that makes senders wait.
final class Outbox: Sendable {
    enum EnqueueResult { case queued(schedulesDrain: Bool, hasSpace: Bool), closed }
    private struct State {
        var frames = ByteBuffer()
        var isDrainScheduled = false
        var isClosed = false
        var waiting: [CheckedContinuation<Void, any Error>] = []
    }
    private let state = Locked(State())
    private let outputClosed = Locked(false)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// The client no longer takes our frames (set on the reactor).
    func markOutputClosed() { outputClosed.withLock { $0 = true } }
    var isOutputClosed: Bool { outputClosed.withLock { $0 } }

    /// Appends one message of `payload` in `framing`: one copy, into the queue itself.
    func enqueue(_ payload: UnsafeRawBufferPointer, framing: Framing) -> EnqueueResult {
        state.withLock { state in
            if state.isClosed { return .closed }
            framing.append(payload, to: &state.frames)
            defer { state.isDrainScheduled = true }
            return .queued(schedulesDrain: !state.isDrainScheduled, hasSpace: state.frames.readableBytes <= limit)
        }
    }

    /// Returns at once while the queue is under the limit; otherwise when the reactor has taken it below.
    nonisolated(nonsending) func waitForSpace() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let result: Result<Void, any Error>? = state.withLock { state in
                if state.isClosed {
                    return .failure(
                        UnixSocketError(.connectionClosed, operation: .send, detail: "the connection is closed"))
                }
                if state.frames.readableBytes <= limit { return .success(()) }
                state.waiting.append(continuation)
                return nil
            }
            if let result { continuation.resume(with: result) }
        }
    }

    /// Takes everything queued (called on the reactor), and lets waiting senders go on.
    func take() -> ByteBuffer {
        let (frames, waiting) = state.withLock { state in
            let frames = state.frames
            state.frames = ByteBuffer()
            state.isDrainScheduled = false
            defer { state.waiting = [] }
            return (frames, state.waiting)
        }
        for waiter in waiting { waiter.resume() }
        return frames
    }

    /// Refuses further frames and fails waiting senders.
    func close() {
        let waiting = state.withLock { state in
            state.isClosed = true
            state.frames = ByteBuffer()
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiter in waiting {
            waiter.resume(
                throwing: UnixSocketError(.connectionClosed, operation: .send, detail: "the connection is closed"))
        }
    }
}
