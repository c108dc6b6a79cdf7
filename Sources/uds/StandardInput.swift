import Foundation

/// Standard input, line by line, read on a thread of its own so that no Swift concurrency thread blocks on it.
enum StandardInput {
    /// The lines of standard input without their newlines; ends at end of input.
    static func lines() -> AsyncStream<String> {
        AsyncStream(bufferingPolicy: .bufferingOldest(64)) { continuation in
            Thread.detachNewThread {
                while let line = readLine(strippingNewline: true) {
                    while case .dropped = continuation.yield(line) { usleep(1000) }  // the reader is behind: wait
                }
                continuation.finish()
            }
        }
    }
}
