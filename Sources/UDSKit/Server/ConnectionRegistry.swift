import NIOCore
import Synchronization

/// The connections a server has open, so that a shutdown can wait for them and then close the rest.
final class ConnectionRegistry: Sendable {
    private struct State {
        var nextID = 0
        var open: [Int: any Channel] = [:]
        var drained: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Registers `channel` until it closes and returns its connection ID.
    func add(_ channel: any Channel) -> Int {
        let id = state.withLock { state in
            state.nextID += 1
            state.open[state.nextID] = channel
            return state.nextID
        }
        channel.closeFuture.whenComplete { _ in self.remove(id) }
        return id
    }

    private func remove(_ id: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open[id] = nil
            guard state.open.isEmpty else { return [] }
            defer { state.drained = [] }
            return state.drained
        }
        for waiter in waiters { waiter.resume() }
    }

    var count: Int { state.withLock { $0.open.count } }

    /// Returns once no connection is open.
    func waitUntilDrained() async {
        await withCheckedContinuation { continuation in
            let isEmpty = state.withLock { state in
                if state.open.isEmpty { return true }
                state.drained.append(continuation)
                return false
            }
            if isEmpty { continuation.resume() }
        }
    }

    /// Closes every open connection.
    func closeAll() {
        let channels = state.withLock { Array($0.open.values) }
        for channel in channels { channel.close(promise: nil) }
    }
}
