import Foundation

/// Runs blocking `body` on a thread of its own and returns what it returns.
///
/// Clients that block in `connect`, `read` and `write` (as real ones, and hostile ones on purpose, do) must not run
/// on the few threads of Swift concurrency (two on a 2-core machine), which the server under test needs.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Runs `body(0)`, …, `body(count - 1)` each on a thread of its own, all at once; rethrows the first error.
public func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<count {
            group.addTask { try await onThread { try body(index) } }
        }
        try await group.waitForAll()
    }
}
