public import NIOCore

/// How messages are marked out in a stream: a length before each (UDSKit's frames, the default) or a delimiter
/// byte after each (varlink's NUL-terminated JSON).
///
/// ```swift
/// var configuration = MessageServer.Configuration()
/// configuration.framing = .delimited(0)   // varlink
/// ```
public struct Framing: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        case lengthPrefixed
        case delimited(UInt8)
    }
    let kind: Kind

    /// A 4-byte unsigned big-endian length, then the payload (``FrameDecoder``). The default.
    public static let lengthPrefixed = Framing(kind: .lengthPrefixed)

    /// The payload, then `delimiter` (``DelimitedDecoder``). A payload must not contain the delimiter.
    public static func delimited(_ delimiter: UInt8) -> Framing { Framing(kind: .delimited(delimiter)) }

    /// The bytes added to each payload on the wire.
    public var overhead: Int {
        switch kind {
        case .lengthPrefixed: return FrameDecoder.headerSize
        case .delimited: return 1
        }
    }

    /// Appends one message carrying `payload` to `buffer`.
    public func append(_ payload: UnsafeRawBufferPointer, to buffer: inout ByteBuffer) {
        switch kind {
        case .lengthPrefixed:
            FrameEncoder.append(payload, to: &buffer)
        case .delimited(let delimiter):
            buffer.writeBytes(payload)
            buffer.writeInteger(delimiter)
        }
    }

    /// Appends one message carrying `payload` to `buffer`.
    public func append(_ payload: ByteBuffer, to buffer: inout ByteBuffer) {
        switch kind {
        case .lengthPrefixed:
            FrameEncoder.append(payload, to: &buffer)
        case .delimited(let delimiter):
            buffer.writeImmutableBuffer(payload)
            buffer.writeInteger(delimiter)
        }
    }
}

/// A decoder for either ``Framing``: what a framed connection feeds its reads to.
struct FramingDecoder: Sendable {
    // Both decoders are kept (one unused) rather than an enum, so that feeding mutates in place without copying a
    // partial message's buffer.
    private var frames: FrameDecoder
    private var delimited: DelimitedDecoder?
    let maximumFrameSize: Int

    init(_ framing: Framing, maximumFrameSize: Int) {
        self.maximumFrameSize = maximumFrameSize
        frames = FrameDecoder(maximumFrameSize: maximumFrameSize)
        if case .delimited(let byte) = framing.kind {
            delimited = DelimitedDecoder(delimiter: byte, maximumMessageSize: maximumFrameSize)
        }
    }

    /// Whether part of a message has arrived but not all of it.
    var hasPartialFrame: Bool { delimited?.hasPartialMessage ?? frames.hasPartialFrame }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ onFrame: (UnsafeRawBufferPointer) throws -> Void) throws {
        try feed(bytes) { payload, _ in try onFrame(payload) }
    }

    /// As the decoders' `feed`, with where each whole message lies in `bytes` (`nil` if gathered); `takeRun` as
    /// ``FrameDecoder``'s, for length-prefixed frames only (a delimited decoder never calls it).
    mutating func feed(
        _ bytes: UnsafeRawBufferPointer, takingRuns takeRun: ((Int) -> Int)? = nil,
        _ onFrame: (UnsafeRawBufferPointer, Range<Int>?) throws -> Void
    ) throws {
        if delimited != nil {
            try delimited!.feed(bytes, onFrame)
        } else {
            try frames.feed(bytes, takingRuns: takeRun, onFrame)
        }
    }
}

extension Framing {
    /// Appends `batch`'s messages, making room for all of them at once: for ``lengthPrefixed`` one copy of the whole
    /// batch, else one per message (appending each would make two checked writes to `buffer`: a batch of small
    /// frames spent half its time there).
    public func append(contentsOf batch: FrameBatch, to buffer: inout ByteBuffer) {
        if kind == .lengthPrefixed { return batch.withUnsafeFrames { buffer.writeBytes($0) } }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: batch.payloadBytes + batch.count * overhead) { room in
            var at = 0
            batch.forEachPayload { payload in at = write(payload, into: room, at: at) }
            return at
        }
    }

    /// Writes one message carrying `payload` into `room` at `offset`; returns the offset after it.
    private func write(_ payload: UnsafeRawBufferPointer, into room: UnsafeMutableRawBufferPointer, at offset: Int)
        -> Int
    {
        var at = offset
        if case .lengthPrefixed = kind {
            withUnsafeBytes(of: UInt32(payload.count).bigEndian) { header in
                UnsafeMutableRawBufferPointer(rebasing: room[at..<at + header.count]).copyMemory(from: header)
            }
            at += FrameDecoder.headerSize
        }
        if payload.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: room[at..<at + payload.count]).copyMemory(from: payload)
            at += payload.count
        }
        if case .delimited(let delimiter) = kind {
            room[at] = delimiter
            at += 1
        }
        return at
    }
}
