import Dispatch
import UDSKit

/// Standard input, line by line, read on a thread of its own so that no Swift concurrency thread blocks on it.
enum StandardInput {
    /// Lines read ahead of the consumer at most; the reader thread then blocks until the consumer takes one.
    static let readAhead = 64

    /// The lines of standard input without their newlines; ends at end of input.
    ///
    /// A thread blocks in `read(2)` (through `readLine`) and hands each line over. Once ``readAhead`` lines wait
    /// unread it blocks on a semaphore that the consumer signals per line taken: a fast producer never fills
    /// memory, and nothing polls.
    static func lines() -> AsyncStream<String> {
        // Start at 0 and add the credits: libdispatch traps when a semaphore is released with a value below the
        // one it was created with, which is the case here whenever the consumer stops before the end of input.
        let credits = DispatchSemaphore(value: 0)
        for _ in 0..<readAhead { credits.signal() }
        let (read, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        DetachedThread.start {
            while true {
                credits.wait()
                guard let line = readLine(strippingNewline: true) else { break }
                continuation.yield(line)
            }
            continuation.finish()
        }
        let consumer = Consumer(read.makeAsyncIterator())
        return AsyncStream(unfolding: {
            guard let line = await consumer.next() else { return nil }
            credits.signal()  // room for one more line ahead
            return line
        })
    }

    /// The iterator of the lines read so far, for the one task that consumes them.
    ///
    /// `@unchecked Sendable`: `AsyncStream(unfolding:)` calls its closure for one `next()` at a time, and the stream
    /// it returns has one consumer, so the iterator is never used by two tasks at once.
    private final class Consumer: @unchecked Sendable {
        private var iterator: AsyncStream<String>.AsyncIterator
        init(_ iterator: AsyncStream<String>.AsyncIterator) { self.iterator = iterator }
        func next() async -> String? { await iterator.next() }
    }
}
