/// Calls `body` with consecutive chunks of `bytes`, cut where `seed` says, so that one input exercises one way of
/// splitting a stream.
///
/// Seed 0 hands over `bytes` whole, seed 1 one byte at a time; any other seed cuts chunks of 0 to `seed % 64 + 1`
/// bytes (empty chunks included) with a small pseudo-random generator seeded by `seed`. Every byte is handed over
/// exactly once, in order.
public func forEachChunk(
    of bytes: UnsafeRawBufferPointer,
    seed: UInt8,
    _ body: (UnsafeRawBufferPointer) throws -> Void
) rethrows {
    switch seed {
    case 0:
        try body(bytes)
    case 1:
        for index in bytes.indices { try body(UnsafeRawBufferPointer(rebasing: bytes[index..<index + 1])) }
    default:
        var random = SplitRandom(seed: seed)
        let largest = Int(seed % 64) + 1
        var start = 0
        var calls = 0
        while start < bytes.count {
            calls += 1
            // Past this many calls the rest goes in one chunk, so that a run of empty chunks cannot go on forever.
            let left = bytes.count - start
            let length = calls > 4 * bytes.count + 8 ? left : min(random.next(upTo: largest), left)
            try body(UnsafeRawBufferPointer(rebasing: bytes[start..<start + length]))
            start += length
        }
    }
}

/// xorshift32: deterministic, so that a crashing input replays the same cuts.
struct SplitRandom {
    private var state: UInt32

    init(seed: UInt8) { state = 0x9E37_79B9 ^ UInt32(seed) }

    /// A number in `0...upperBound`.
    mutating func next(upTo upperBound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        return Int(state % UInt32(upperBound + 1))
    }
}

/// Stops the fuzzer with `message`: libFuzzer records the input as a crash.
public func invariant(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}
