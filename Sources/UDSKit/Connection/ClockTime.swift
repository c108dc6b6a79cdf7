/// A moment of the continuous clock in 8 bytes, where a `ContinuousClock.Instant` takes 16: nanoseconds since the
/// first moment the process asked for. A connection keeps two, and a server may hold tens of thousands.
struct ClockTime {
    private static let origin = ContinuousClock.now
    private var nanoseconds: Int64

    init(_ instant: ContinuousClock.Instant) { nanoseconds = Self.nanoseconds(instant - Self.origin) }

    static var now: ClockTime { ClockTime(.now) }

    /// Whether more than `duration` has passed from `self` to `later`.
    func isMoreThan(_ duration: Duration, before later: ClockTime) -> Bool {
        later.nanoseconds - nanoseconds > Self.nanoseconds(duration)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (seconds < 0 ? .min : .max) : product &+ attoseconds / 1_000_000_000
    }
}
