/// A small fast generator, seeded at random; the seed is printed so that a failure can be replayed.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` random bytes.
    mutating func bytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var offset = 0
            while offset + 8 <= count {
                raw.storeBytes(of: next(), toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            var last = next()
            while offset < count {
                raw[offset] = UInt8(truncatingIfNeeded: last)
                last >>= 8
                offset += 1
            }
            initialized = count
        }
    }
}

/// A 64-bit FNV-1a hash taken over 8-byte words (fast enough in a debug build): enough to tell messages apart in
/// a test.
func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    var offset = 0
    while offset + 8 <= bytes.count {
        hash ^= bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        hash &*= 0x100_0000_01b3
        offset += 8
    }
    while offset < bytes.count {
        hash ^= UInt64(bytes[offset])
        hash &*= 0x100_0000_01b3
        offset += 1
    }
    return hash
}
