import Dispatch
import UDSKit

/// Runs `body` on `count` threads (blocking socket calls want threads, not tasks) and waits for all of them.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        DetachedThread.start {
            body(index)
            group.leave()
        }
    }
    group.wait()
}

extension ContinuousClock.Instant {
    /// Seconds from this instant to now.
    var secondsSince: Double { (ContinuousClock.now - self).seconds }

    /// Nanoseconds from this instant to now.
    var nanosecondsSince: UInt64 {
        let elapsed = (ContinuousClock.now - self).components
        return UInt64(max(0, elapsed.seconds)) * 1_000_000_000 + UInt64(max(0, elapsed.attoseconds) / 1_000_000_000)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
