import Foundation

/// Runs `body` on a thread of its own and returns what it returns.
///
/// Hostile clients block in `connect`, `read` and `write` on purpose; on a thread of their own they cannot starve
/// Swift concurrency's few threads (two on a 2-core machine), which the server under test may need.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Runs `body(0)`, …, `body(count - 1)` each on a thread of its own, all at once; rethrows the first error.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<count {
            group.addTask { try await onThread { try body(index) } }
        }
        try await group.waitForAll()
    }
}

/// A blocking sleep, for threads of our own.
func sleep(milliseconds: Int) { usleep(useconds_t(milliseconds * 1000)) }
