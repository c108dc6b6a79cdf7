import Foundation
import Synchronization
import UDSKit
import UDSKitTestSupport

/// Runs `body` as a task of its own and waits for it at most `seconds`; past that, throws and leaves the task behind.
/// For calls that would otherwise hang the whole run when they hang (a shutdown that never returns).
func finishes(
    _ what: String,
    within seconds: Double,
    _ body: @escaping @Sendable () async throws -> Void
) async throws {
    let outcome = Shared<Result<Void, any Error>?>(nil)
    Task {
        let result: Result<Void, any Error>
        do {
            try await body()
            result = .success(())
        } catch {
            result = .failure(error)
        }
        outcome.update { $0 = result }
    }
    try await waitUntil("\(what) finishes", timeout: seconds) { outcome.value != nil }
    try outcome.value!.get()
}

/// A flag one task sets and others wait for.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// A value shared between a handler and the test that reads it.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Locked<Value>
    init(_ value: Value) { mutex = Locked(value) }
    var value: Value { mutex.withLock { $0 } }
    func update<T>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

/// Runs `body` after `seconds` unless cancelled first: a test's last resort against a hang, so that a stuck exchange
/// ends in a failure instead of blocking the whole run.
func withWatchdog<T>(
    seconds: Double,
    onTimeout: @escaping @Sendable () async -> Void,
    _ body: () async throws -> T
) async throws -> T {
    let fired = Flag()
    let watchdog = Task {
        // The watchdog's deadline: it ends a hang, and the test fails when it fires.
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        fired.set()
        await onTimeout()
    }
    defer { watchdog.cancel() }
    let result: T
    do {
        result = try await body()
    } catch {
        if fired.isSet { throw TestFailure("did not finish within \(seconds) s (then: \(error))") }
        throw error
    }
    if fired.isSet { throw TestFailure("did not finish within \(seconds) s") }
    return result
}

/// Runs `body(0..<count)` each on a thread of its own (blocking socket calls, as real clients make them) and returns
/// the results in index order.
func runOnThreads<T: Sendable>(
    _ count: Int,
    stackSize: Int = 256 * 1024,
    _ body: @escaping @Sendable (Int) -> T
) async -> [T] {
    let results = Shared<[Int: T]>([:])
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        guard count > 0 else { return continuation.resume() }
        for index in 0..<count {
            let thread = Thread {
                let value = body(index)
                let done = results.update { results in
                    results[index] = value
                    return results.count == count
                }
                if done { continuation.resume() }
            }
            thread.stackSize = stackSize
            thread.start()
        }
    }
    let all = results.value
    return (0..<count).map { all[$0]! }
}

/// Holds threads until `count` of them have arrived, so that they then act at once.
final class ThreadBarrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let count: Int
    private var arrived = 0

    init(count: Int) { self.count = count }

    /// Waits for the others; returns false if they did not all arrive within `timeout` seconds.
    func arriveAndWait(timeout: Double = 120) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        if arrived >= count {
            condition.broadcast()
            return true
        }
        let deadline = Date().addingTimeInterval(timeout)
        while arrived < count {
            if !condition.wait(until: deadline) { return arrived >= count }
        }
        return true
    }
}
