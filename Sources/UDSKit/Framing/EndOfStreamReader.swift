import NIOCore

/// The one-message-per-connection codec: a message is every byte until end of stream. Counts the bytes fed, keeps
/// them if asked, and enforces a size limit.
///
/// Pure: bytes in, a message out, no I/O.
///
/// ```swift
/// var reader = EndOfStreamReader(maximumSize: 1 << 20, keepsBytes: true)
/// try reader.feed(chunk)          // as often as bytes arrive
/// let message = reader.finish()   // at end of stream
/// ```
public struct EndOfStreamReader: Sendable {
    /// The bytes fed so far.
    public private(set) var count = 0
    private var bytes: ByteBuffer?
    /// The most bytes a message may have; `nil` for no limit. (Last: its 9 bytes leave room for what follows.)
    public let maximumSize: Int?

    /// - Parameters:
    ///   - maximumSize: The most bytes a message may have; `nil` for no limit.
    ///   - keepsBytes: Whether to keep the bytes for ``finish()``; without it, only ``count`` is kept.
    public init(maximumSize: Int?, keepsBytes: Bool) {
        self.maximumSize = maximumSize
        self.bytes = keepsBytes ? ByteBuffer() : nil
    }

    /// Adds `chunk` to the message.
    ///
    /// - Throws: ``UnixSocketError`` with ``UnixSocketError/Code/messageTooLarge`` when the message passes
    ///   ``maximumSize``; the reader keeps nothing more after that.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) throws {
        count += chunk.count
        if let maximumSize, count > maximumSize {
            bytes = nil
            throw UnixSocketError(
                .messageTooLarge, operation: .read, detail: "message exceeds the limit of \(maximumSize) bytes")
        }
        bytes?.writeBytes(chunk)
    }

    /// The whole message (empty if the reader only counts), at end of stream.
    public mutating func finish() -> Message {
        defer { bytes = nil }
        return Message(buffer: bytes ?? ByteBuffer())
    }
}
