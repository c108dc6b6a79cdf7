import Foundation
import Synchronization
import UDSKit
import UDSKitTestSupport

/// An honest client's work, done over and over on a thread of its own while a hostile load runs.
///
/// Each round throws if the server answered wrongly or not at all (within the exchange's own generous timeout).
/// ``stop()`` ends the rounds and reports how many were served and what went wrong.
final class HonestTraffic: Sendable {
    struct Report: Sendable {
        var served = 0
        var failures: [String] = []
    }
    private final class State: Sendable {
        let report = Locked(Report())
        let stopping = Atomic<Bool>(false)
    }
    private let state = State()
    private let running: Task<Void, any Error>

    /// Starts `round(0)`, `round(1)`, … on a thread of its own.
    init(_ round: @escaping @Sendable (Int) throws -> Void) {
        let state = self.state
        running = Task {
            try await onThread {
                var index = 0
                while !state.stopping.load(ordering: .relaxed) {
                    do {
                        try round(index)
                        state.report.withLock { $0.served += 1 }
                    } catch {
                        state.report.withLock {
                            if $0.failures.count < 10 { $0.failures.append("round \(index): \(error)") }
                        }
                    }
                    index += 1
                }
            }
        }
    }

    /// Lets the current round finish, then stops and reports.
    func stop() async -> Report {
        state.stopping.store(true, ordering: .relaxed)
        _ = try? await running.value
        return state.report.withLock { $0 }
    }
}
