import NIOCore

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Messages kept in one array of bytes: a batch of requests for ``FramedClient/requests(_:timeout:)``, and the
/// replies it returns.
///
/// The bytes are each message as a length-prefixed frame (4 unsigned big-endian bytes of length, then the payload),
/// the wire form of ``Framing/lengthPrefixed``. So a client with that framing, the default, writes a batch as it
/// is, and reads its replies into one array in runs of whole frames: no allocation and no checked buffer write per
/// message, which in a batch of small messages cost more than the system calls (see BENCHMARKS.md). An element is a
/// ``Message`` copied out of the batch.
///
/// ```swift
/// var batch = FrameBatch()
/// for name in names { batch.append(Message(name)) }
/// let replies = try await client.requests(batch)   // replies[i] answers batch[i]
/// ```
public struct FrameBatch: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral {
    /// The frames back to back.
    private var wire: FrameBytes
    /// Where each frame ends in `wire`.
    private var ends: [Int]

    /// An empty batch.
    public init() {
        wire = FrameBytes()
        ends = []
    }

    /// A batch of `messages`, in order.
    public init(_ messages: some Sequence<Message>) {
        self.init()
        for message in messages { append(message) }
    }

    public init(arrayLiteral messages: Message...) { self.init(messages) }

    /// Whole frames as a reader gathered them, and where each one ends: the reply side.
    init(wire: FrameBytes, ends: [Int]) {
        precondition(ends.last ?? 0 == wire.count, "a reply batch is whole frames")
        self.wire = wire
        self.ends = ends
    }

    /// Reserves room for `count` more messages of `payloadBytes` bytes in all.
    public mutating func reserveCapacity(messages count: Int, payloadBytes: Int) {
        wire.reserveCapacity(wire.count + payloadBytes + count * FrameDecoder.headerSize)
        ends.reserveCapacity(ends.count + count)
    }

    /// Appends `message` as one more frame.
    public mutating func append(_ message: Message) {
        message.buffer.withUnsafeReadableBytes { append(bytes: $0) }
    }

    /// Appends one message of `payload`'s bytes.
    public mutating func append(bytes payload: some Collection<UInt8>) {
        if payload.withContiguousStorageIfAvailable({ append(bytes: UnsafeRawBufferPointer($0)) }) != nil { return }
        append(bytes: Array(payload))
    }

    /// Appends one message of `payload`'s bytes.
    public mutating func append(bytes payload: UnsafeRawBufferPointer) {
        precondition(payload.count <= UInt32.max, "a frame's payload is at most 4 GiB - 1 bytes")
        wire.appendFrame(payload)
        ends.append(wire.count)
    }

    /// Appends the messages of `other`, in order.
    package mutating func append(contentsOf other: FrameBatch) {
        let offset = wire.count
        other.wire.withUnsafeBytes { wire.append($0) }
        ends.reserveCapacity(ends.count + other.ends.count)
        for end in other.ends { ends.append(offset + end) }
    }

    /// Calls `body` with the payload of message `index`, in place.
    ///
    /// Not generic: called per message from another module, a generic result cost a metadata look-up each time.
    package func withPayload(at index: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        let start = (index == 0 ? 0 : ends[index - 1]) + FrameDecoder.headerSize
        let end = ends[index]
        wire.withUnsafeBytes { wire in body(UnsafeRawBufferPointer(rebasing: wire[start..<end])) }
    }

    /// Calls `body` with the frames, back to back.
    func withUnsafeFrames<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try wire.withUnsafeBytes(body)
    }

    /// Calls `body` with each payload in order.
    func forEachPayload(_ body: (UnsafeRawBufferPointer) -> Void) {
        wire.withUnsafeBytes { wire in
            var start = 0
            for end in ends {
                body(UnsafeRawBufferPointer(rebasing: wire[(start + FrameDecoder.headerSize)..<end]))
                start = end
            }
        }
    }

    // MARK: Collection

    public var startIndex: Int { 0 }
    public var endIndex: Int { ends.count }

    /// Message `index`, a copy.
    public subscript(index: Int) -> Message {
        let start = (index == 0 ? 0 : ends[index - 1]) + FrameDecoder.headerSize
        return wire.withUnsafeBytes {
            Message(buffer: ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: $0[start..<ends[index]])))
        }
    }

    /// The payload bytes of every message, without the frame headers.
    public var payloadBytes: Int { wire.count - ends.count * FrameDecoder.headerSize }

    /// The bytes of the frames, headers included: what a length-prefixed client writes.
    public var frameBytes: Int { wire.count }

    // The frames say where each one ends, so equal frames are equal batches: one comparison of bytes.
    public static func == (lhs: FrameBatch, rhs: FrameBatch) -> Bool {
        lhs.wire.count == rhs.wire.count
            && lhs.wire.withUnsafeBytes { left in
                rhs.wire.withUnsafeBytes { right in
                    left.isEmpty || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0
                }
            }
    }

    public func hash(into hasher: inout Hasher) { wire.withUnsafeBytes { hasher.combine(bytes: $0) } }
}

/// Bytes that grow at the end, copy-on-write: what a ``FrameBatch`` keeps its frames in.
///
/// Written by hand because every standard buffer costs more per small append than the copy itself: `[UInt8]`'s
/// `append(contentsOf:)` about 8 ns a call, `ByteBuffer`'s writes 10-14 ns with their exclusivity checks, where a batch
/// of 64-byte frames spends about 2 ns a frame copying (perf of `uds-bench client --scenario pipeline --api async`).
struct FrameBytes: @unchecked Sendable {
    /// The memory, shared by copies until one of them writes; `nil` before the first byte.
    private var storage: Storage?
    /// The bytes in use, from the start of `storage`.
    private(set) var count = 0

    private final class Storage {
        let start: UnsafeMutableRawPointer
        let capacity: Int
        init(capacity: Int) {
            self.capacity = capacity
            start = .allocate(byteCount: capacity, alignment: 16)
        }
        deinit { start.deallocate() }
    }

    /// Makes room for `more` bytes past `count`, in memory this value alone holds; returns where they go.
    @inline(__always)
    private mutating func room(for more: Int) -> UnsafeMutableRawPointer {
        let needed = count + more
        if isKnownUniquelyReferenced(&storage), let storage, needed <= storage.capacity { return storage.start + count }
        return grow(to: needed)
    }

    /// Moves the bytes to new memory of at least `needed` bytes, which this value alone holds.
    @inline(never)
    private mutating func grow(to needed: Int) -> UnsafeMutableRawPointer {
        let grown = Storage(capacity: Swift.max(needed, (storage?.capacity ?? 0) * 2, 256))
        if let storage, count > 0 { grown.start.copyMemory(from: storage.start, byteCount: count) }
        storage = grown
        return grown.start + count
    }

    /// Makes room for at least `capacity` bytes in all.
    mutating func reserveCapacity(_ capacity: Int) {
        if capacity > count { _ = room(for: capacity - count) }
    }

    /// Appends `bytes` as they are.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        room(for: bytes.count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// Appends one length-prefixed frame of `payload`.
    @inline(__always)
    mutating func appendFrame(_ payload: UnsafeRawBufferPointer) {
        let size = FrameDecoder.headerSize + payload.count
        let at = room(for: size)
        at.storeBytes(of: UInt32(payload.count).bigEndian, as: UInt32.self)
        if let source = payload.baseAddress, !payload.isEmpty {
            (at + FrameDecoder.headerSize).copyMemory(from: source, byteCount: payload.count)
        }
        count += size
    }

    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: storage?.start, count: count))
    }
}
