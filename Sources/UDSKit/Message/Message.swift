public import NIOCore

/// The bytes of one message or reply.
///
/// A thin wrapper over NIO's `ByteBuffer`, so that bytes read from a socket reach a handler without a copy.
/// Build one from a string literal, a `String`, bytes or a buffer.
public struct Message: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The message's bytes.
    public var buffer: ByteBuffer

    public init(buffer: ByteBuffer) { self.buffer = buffer }

    public init(_ string: String) { buffer = ByteBuffer(string: string) }

    public init(bytes: some Sequence<UInt8>) { buffer = ByteBuffer(bytes: bytes) }

    public init(stringLiteral value: String) { self.init(value) }

    /// An empty message.
    public static let empty = Message(buffer: ByteBuffer())

    /// The number of bytes.
    public var count: Int { buffer.readableBytes }

    /// The bytes as an array (a copy).
    public var bytes: [UInt8] { Array(buffer.readableBytesView) }

    /// The bytes decoded as UTF-8, invalid sequences repaired.
    public var string: String { String(decoding: buffer.readableBytesView, as: UTF8.self) }

    public var description: String { string }
}
