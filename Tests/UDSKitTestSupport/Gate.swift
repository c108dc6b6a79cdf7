import UDSKit

/// Holds every caller until `count` of them wait at once, then lets them all (and every later one) through: how a
/// test knows that many exchanges were in flight together, without timing them. ``open()`` lets them through early.
public final class Gate: Sendable {
    private struct State {
        var waiting: [CheckedContinuation<Void, Never>] = []
        var isOpen = false
        var peak = 0
        var arrived = 0
    }
    /// `Locked`, not `Synchronization.Mutex`, which Thread Sanitizer cannot see (Sources/UDSKit/Support/Locked.swift).
    private let state = Locked(State())
    public let count: Int

    public init(count: Int) { self.count = count }

    /// The most callers that waited at once.
    public var peak: Int { state.withLock { $0.peak } }
    /// How many callers have arrived in all.
    public var arrived: Int { state.withLock { $0.arrived } }

    public func arrive() async {
        await withCheckedContinuation { continuation in
            let release = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.arrived += 1
                if state.isOpen { return [continuation] }
                state.waiting.append(continuation)
                state.peak = max(state.peak, state.waiting.count)
                guard state.waiting.count >= count else { return [] }
                state.isOpen = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for waiter in release { waiter.resume() }
        }
    }

    /// Lets every caller through, now and from now on.
    public func open() {
        let release = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiter in release { waiter.resume() }
    }
}

/// A gate that opens only when told: a handler that holds its reply until the test lets it go.
public func makeLatch() -> Gate { Gate(count: Int.max) }
