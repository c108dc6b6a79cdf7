import Testing

@testable import UDSKit

extension LibraryTests {
    /// The guess of whether a client reads right after writing: it keeps reading eagerly while that finds replies,
    /// stops after a few empty reads, and tries again now and then.
    @Suite struct EagerReadTests {
        @Test func itReadsWhileThatFindsRepliesAndBacksOffWhenItDoesNot() {
            var guess = EagerRead()
            for _ in 0..<100 {
                let tried = guess.shouldTry()
                #expect(tried)
                guess.record(found: true)
            }
            // Credit is capped at 16: eight empty reads (two each) use it up.
            for _ in 0..<8 {
                let tried = guess.shouldTry()
                #expect(tried)
                guess.record(found: false)
            }
            let tries = (0..<640).filter { _ in
                let tried = guess.shouldTry()
                if tried { guess.record(found: false) }
                return tried
            }
            #expect(tries.count == 10, "one try in 64 while reads find nothing")
            // A try that finds something again earns credit back.
            let skipped = (0..<63).filter { _ in guess.shouldTry() }
            #expect(skipped.isEmpty)
            let retried = guess.shouldTry()
            #expect(retried)
            guess.record(found: true)
            let again = guess.shouldTry()
            #expect(again)
        }
    }
}
