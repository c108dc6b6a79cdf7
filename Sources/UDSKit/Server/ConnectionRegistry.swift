import Synchronization

/// Counts a server's open connections, so that a shutdown can wait until none is left.
final class ConnectionRegistry: Sendable {
    private struct State {
        var nextID = 0
        var open = 0
        var drained: [CheckedContinuation<Void, Never>] = []
        /// Acceptors that stopped at the connection limit, resumed when a connection closes.
        var pausedAcceptors: [@Sendable () -> Void] = []
    }
    private let state = Locked(State())
    /// Connections open at once, at most.
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// If the limit is reached, keeps `resume` to call once a connection closes, and returns true.
    func pauseIfFull(resume: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard state.open >= limit else { return false }
            state.pausedAcceptors.append(resume)
            return true
        }
    }

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
        let (waiters, acceptors) = state.withLock {
            state -> ([CheckedContinuation<Void, Never>], [@Sendable () -> Void]) in
            state.open -= 1
            let acceptors = state.pausedAcceptors
            state.pausedAcceptors = []
            guard state.open == 0 else { return ([], acceptors) }
            defer { state.drained = [] }
            return (state.drained, acceptors)
        }
        for acceptor in acceptors { acceptor() }
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
