import Synchronization

/// Counts a server's open connections, so that a shutdown can wait until none is left.
final class ConnectionRegistry: Sendable {
    private struct State {
        var nextID = 0
        var open = 0
        var drained: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Counts a new connection and returns its ID.
    func add() -> Int {
        state.withLock { state in
            state.nextID += 1
            state.open += 1
            return state.nextID
        }
    }

    /// Counts a connection as closed.
    func remove() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open -= 1
            guard state.open == 0 else { return [] }
            defer { state.drained = [] }
            return state.drained
        }
        for waiter in waiters { waiter.resume() }
    }

    var count: Int { state.withLock { $0.open } }

    /// Returns once no connection is open.
    func waitUntilDrained() async {
        await withCheckedContinuation { continuation in
            let isEmpty = state.withLock { state in
                if state.open == 0 { return true }
                state.drained.append(continuation)
                return false
            }
            if isEmpty { continuation.resume() }
        }
    }
}
