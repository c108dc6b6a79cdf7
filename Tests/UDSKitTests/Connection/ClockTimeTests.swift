import Testing

@testable import UDSKit

extension LibraryTests {
    /// The 8-byte moments a connection times its peer with: differences as the continuous clock's, a timeout too
    /// long for nanoseconds never passes.
    @Suite struct ClockTimeTests {
        @Test func aDifferenceIsTheClocksToTheNanosecond() {
            let instant = ContinuousClock.now
            let start = ClockTime(instant)
            let later = ClockTime(instant + .milliseconds(5))
            #expect(start.isMoreThan(.milliseconds(4), before: later))
            #expect(start.isMoreThan(.nanoseconds(4_999_999), before: later))
            #expect(!start.isMoreThan(.milliseconds(5), before: later))
            #expect(!start.isMoreThan(.seconds(1), before: later))
            #expect(!later.isMoreThan(.zero, before: start), "an earlier moment is not past a later one")
        }

        @Test func aMomentBeforeTheFirstOneTakenStillCounts() {
            let early = ContinuousClock.now - .seconds(3600)
            #expect(ClockTime(early).isMoreThan(.seconds(3599), before: .now))
        }

        @Test func aTimeoutTooLongForNanosecondsNeverPasses() {
            let start = ClockTime(.now - .seconds(10))
            #expect(!start.isMoreThan(.seconds(Int64.max / 2), before: .now))
            #expect(start.isMoreThan(.seconds(9), before: .now))
        }
    }
}
