public import NIOCore

/// Splits a byte stream into frames: a 4-byte unsigned big-endian length N, then N payload bytes.
///
/// Pure: bytes in, payloads out, no I/O. Feed it bytes as they arrive, split anywhere; complete frames come out in
/// order. A payload that lies whole in the bytes fed is handed out in place, without a copy; only a frame split
/// across two feeds is gathered.
///
/// ```swift
/// var decoder = FrameDecoder(maximumFrameSize: 1 << 20)
/// try decoder.feed(bytes) { payload in print(payload.count) }
/// ```
public struct FrameDecoder: Sendable {
    /// The largest payload accepted; a longer length field is ``FrameError/Kind/frameTooLarge``.
    public let maximumFrameSize: Int
    /// The start of a frame that has not arrived whole.
    private var partial = ByteBuffer()
    /// The payload length of the partial frame, once its header is in.
    private var partialLength: Int?

    /// The length of the header before each payload.
    public static let headerSize = 4

    public init(maximumFrameSize: Int) {
        self.maximumFrameSize = maximumFrameSize
    }

    /// Whether part of a frame has arrived but not all of it; at end of stream that frame is truncated.
    public var hasPartialFrame: Bool { partial.readableBytes > 0 }

    /// Decodes what `bytes` completes, calling `onFrame` with each payload in order.
    ///
    /// The payload pointer is valid only during the call. Frames before an error are delivered; after an error the
    /// decoder must not be used again.
    ///
    /// - Throws: ``FrameError`` when a length field passes ``maximumFrameSize``; whatever `onFrame` throws.
    public mutating func feed(
        _ bytes: UnsafeRawBufferPointer,
        _ onFrame: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try feed(bytes) { payload, _ in try onFrame(payload) }
    }

    /// As ``feed(_:_:)``, also telling where each whole frame (header and payload) lies in `bytes`; `nil` for a
    /// frame completed from bytes of an earlier feed.
    ///
    /// - Parameter takeRun: Called before each frame that starts in `bytes` with that frame's offset: it may take
    ///   whole frames from there in one piece (a reader that keeps them in wire form) and returns how many bytes it
    ///   took, at most the whole frames there; 0 hands the next frame to `onFrame`. `nil`: every frame goes there.
    mutating func feed(
        _ bytes: UnsafeRawBufferPointer,
        takingRuns takeRun: ((Int) -> Int)? = nil,
        _ onFrame: (UnsafeRawBufferPointer, Range<Int>?) throws -> Void
    ) throws {
        var rest = bytes
        if hasPartialFrame {
            guard try completePartial(&rest, { try onFrame($0, nil) }) else { return }
        }
        var offset = bytes.count - rest.count
        while rest.count >= Self.headerSize {
            if let takeRun, case let taken = takeRun(offset), taken > 0 {
                rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
                offset += taken
                continue
            }
            let length = try Self.length(of: rest, limit: maximumFrameSize)
            let end = Self.headerSize + length
            guard rest.count >= end else { break }
            try onFrame(UnsafeRawBufferPointer(rebasing: rest[Self.headerSize..<end]), offset..<offset + end)
            rest = UnsafeRawBufferPointer(rebasing: rest[end...])
            offset += end
        }
        if !rest.isEmpty {
            partial.writeBytes(rest)
            if rest.count >= Self.headerSize { partialLength = try Self.length(of: rest, limit: maximumFrameSize) }
        }
    }

    /// Adds to the partial frame from `rest`; delivers it if whole. Returns whether it was completed.
    private mutating func completePartial(
        _ rest: inout UnsafeRawBufferPointer,
        _ onFrame: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Bool {
        if partialLength == nil {
            let needed = min(Self.headerSize - partial.readableBytes, rest.count)
            partial.writeBytes(UnsafeRawBufferPointer(rebasing: rest[..<needed]))
            rest = UnsafeRawBufferPointer(rebasing: rest[needed...])
            guard partial.readableBytes == Self.headerSize else { return false }
            partialLength = try partial.withUnsafeReadableBytes { try Self.length(of: $0, limit: maximumFrameSize) }
        }
        let total = Self.headerSize + partialLength!
        let needed = min(total - partial.readableBytes, rest.count)
        partial.writeBytes(UnsafeRawBufferPointer(rebasing: rest[..<needed]))
        rest = UnsafeRawBufferPointer(rebasing: rest[needed...])
        guard partial.readableBytes == total else { return false }
        try partial.withUnsafeReadableBytes { try onFrame(UnsafeRawBufferPointer(rebasing: $0[Self.headerSize...])) }
        partial.clear()
        partialLength = nil
        return true
    }

    private static func length(of header: UnsafeRawBufferPointer, limit: Int) throws(FrameError) -> Int {
        let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard length <= limit else { throw FrameError(.frameTooLarge, length: length, limit: limit) }
        return length
    }

    /// Decodes one frame from the front of `buffer`, consuming it, or returns `nil` if `buffer` holds no whole
    /// frame yet (nothing is consumed then). The shape of NIO's `NIOSingleStepByteToMessageDecoder`.
    public static func decodeFrame(from buffer: inout ByteBuffer, maximumFrameSize: Int) throws(FrameError)
        -> ByteBuffer?
    {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard Int(length) <= maximumFrameSize else {
            throw FrameError(.frameTooLarge, length: Int(length), limit: maximumFrameSize)
        }
        guard buffer.readableBytes >= headerSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: headerSize)
        return buffer.readSlice(length: Int(length))
    }
}

/// Writes frames: the payload's length as 4 unsigned big-endian bytes, then the payload.
public enum FrameEncoder {
    /// Appends one frame carrying `payload` to `buffer`.
    public static func append(_ payload: UnsafeRawBufferPointer, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
    }

    /// Appends one frame carrying `payload` to `buffer`.
    public static func append(_ payload: ByteBuffer, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(payload.readableBytes))
        buffer.writeImmutableBuffer(payload)
    }

    /// One frame carrying `payload`.
    public static func frame(_ payload: Message) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(FrameDecoder.headerSize + payload.count)
        append(payload.buffer, to: &buffer)
        return buffer
    }
}

/// A malformed frame: a length past the limit, or a stream that ends inside a frame.
public struct FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Kind: Hashable, Sendable {
        private let name: String
        /// The length field names more bytes than the receiver accepts.
        public static let frameTooLarge = Kind(name: "frameTooLarge")
        /// The stream ended after part of a frame.
        public static let truncated = Kind(name: "truncated")
    }
    public var kind: Kind
    /// The length the frame announced, when known.
    public var length: Int?
    /// The receiver's limit, for ``Kind/frameTooLarge``.
    public var limit: Int?

    public init(_ kind: Kind, length: Int? = nil, limit: Int? = nil) {
        self.kind = kind
        self.length = length
        self.limit = limit
    }

    public var description: String {
        switch kind {
        case .frameTooLarge: return "frame of \(length ?? 0) bytes exceeds the limit of \(limit ?? 0) bytes"
        default: return "the stream ended inside a frame"
        }
    }
}
