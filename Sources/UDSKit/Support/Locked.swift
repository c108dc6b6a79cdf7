import NIOConcurrencyHelpers

/// A value behind a lock.
///
/// Written by hand over NIO's pthread-based `NIOLockedValueBox` rather than the standard library's
/// `Synchronization.Mutex`: Thread Sanitizer sees pthread mutexes, while the prebuilt, uninstrumented `Mutex` makes
/// it report every access it protects as a race (Scripts/sanitizers.sh would drown in false reports).
package final class Locked<Value: Sendable>: Sendable {
    private let box: NIOLockedValueBox<Value>

    package init(_ value: Value) { box = NIOLockedValueBox(value) }

    /// Runs `body` with the value while holding the lock.
    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try box.withLockedValue(body)
    }
}
