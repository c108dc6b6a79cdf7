/// The frames of each read, handed from the reactor to a handler's task in one piece: the inbound side of a
/// connection served by ``FramedHandler/bursts(_:)`` (``FramedHandler/requests(_:)`` and the varlink server).
///
/// ``FrameSequence`` hands over one frame per `next()`; for pipelined calls, which come by the thousand, that costs
/// per frame a buffer of its own, the sequence's lock and state machine, and the task's hops into and out of
/// `next()`: more than a small varlink call's own work (BENCHMARKS.md, "Varlink"). Here a read's frames travel in
/// one ``FrameBatch``, and a task that is behind takes everything that came meanwhile in one call.
///
/// Backpressure: once ``limit`` bytes of frames wait for the task, the reactor stops reading this connection, and
/// reads again when the task takes them.
package final class FrameBursts: Sendable {
    /// Bytes of frames waiting for the task at which the reactor stops reading: 64 KiB, about a thousand small calls.
    static let limit = 64 * 1024

    private struct State {
        var pending = FrameBatch()
        var waiter: CheckedContinuation<FrameBatch?, any Error>?
        var isFinished = false
        var failure: (any Error)?
        /// The reactor stopped reading because of us; the next take asks it to read again.
        var isPaused = false
    }
    private let state = Locked(State())
    /// Asks the reactor to read again (it runs `resumeReading` there).
    private let resume: @Sendable () -> Void

    init(resume: @escaping @Sendable () -> Void) { self.resume = resume }

    /// Hands over the frames of one read (on the reactor). Returns `false` when the task is ``limit`` bytes behind:
    /// read no more until it takes them.
    func deliver(_ frames: FrameBatch) -> Bool {
        let (waiter, readsOn) = state.withLock { state -> (CheckedContinuation<FrameBatch?, any Error>?, Bool) in
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, true)
            }
            if state.pending.isEmpty { state.pending = frames } else { state.pending.append(contentsOf: frames) }
            guard state.pending.frameBytes >= Self.limit else { return (nil, true) }
            state.isPaused = true
            return (nil, false)
        }
        waiter?.resume(returning: frames)
        return readsOn
    }

    /// No more frames: once the pending ones are taken, ``next()`` returns `nil`, or throws `error`. Only the first
    /// call counts.
    func finish(_ error: (any Error)? = nil) {
        let waiter = state.withLock { state -> CheckedContinuation<FrameBatch?, any Error>? in
            guard !state.isFinished else { return nil }
            state.isFinished = true
            state.failure = error
            defer { state.waiter = nil }
            return state.waiter
        }
        guard let waiter else { return }
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }

    private enum Taken {
        case frames(FrameBatch, resumesReading: Bool)
        case end((any Error)?)
        case none
    }

    /// The frames that came since the last call, in order, waiting for some if none did; `nil` once the client
    /// closed its side.
    ///
    /// - Throws: what ended the input otherwise: a malformed frame, or the connection's closing.
    package nonisolated(nonsending) func next() async throws -> FrameBatch? {
        // Behind the reactor, as a busy task is, there is no need to wait: no continuation.
        switch take(waiter: nil) {
        case .frames(let frames, let resumesReading):
            if resumesReading { resume() }
            return frames
        case .end(let error):
            if let error { throw error }
            return nil
        case .none:
            break
        }
        return try await withCheckedThrowingContinuation { continuation in
            switch take(waiter: continuation) {
            case .frames(let frames, let resumesReading):
                if resumesReading { resume() }
                continuation.resume(returning: frames)
            case .end(let error):
                if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: nil) }
            case .none:
                break
            }
        }
    }

    /// Takes what is pending or the end; with nothing to take, keeps `waiter` (if any) for ``deliver(_:)``.
    private func take(waiter: CheckedContinuation<FrameBatch?, any Error>?) -> Taken {
        state.withLock { state in
            if !state.pending.isEmpty {
                let frames = state.pending
                state.pending = FrameBatch()
                defer { state.isPaused = false }
                return .frames(frames, resumesReading: state.isPaused)
            }
            if state.isFinished { return .end(state.failure) }
            if let waiter { state.waiter = waiter }
            return .none
        }
    }
}
