public import NIOCore
public import SystemPackage
import Synchronization

/// A message to send: bytes in memory, a file, or chunks produced as you go.
///
/// Files and chunks are streamed: memory stays bounded whatever their size.
public struct OutgoingMessage: Sendable {
    enum Source: Sendable {
        case bytes(Message)
        case file(FilePath)
        case chunks(@Sendable (ChunkWriter) async throws -> Void)
    }
    let source: Source

    /// The bytes of `message`.
    public static func bytes(_ message: Message) -> OutgoingMessage { OutgoingMessage(source: .bytes(message)) }

    /// The contents of the file at `path`, read in chunks as they are sent.
    public static func file(_ path: FilePath) -> OutgoingMessage { OutgoingMessage(source: .file(path)) }

    /// Every chunk of `chunks`, sent in order as it is produced.
    public static func chunks<Chunks: AsyncSequence & Sendable>(_ chunks: Chunks) -> OutgoingMessage
    where Chunks.Element: Sequence<UInt8> & Sendable {
        OutgoingMessage(
            source: .chunks { writer in
                for try await chunk in chunks {
                    try await writer.write(Message(bytes: chunk))
                }
            })
    }

    /// Every `ByteBuffer` of `chunks`, sent in order as it is produced.
    public static func buffers<Chunks: AsyncSequence & Sendable>(_ chunks: Chunks) -> OutgoingMessage
    where Chunks.Element == ByteBuffer {
        OutgoingMessage(
            source: .chunks { writer in
                for try await chunk in chunks {
                    try await writer.write(Message(buffer: chunk))
                }
            })
    }
}

/// Writes the chunks of an ``OutgoingMessage`` on a connection, counting them.
final class ChunkWriter: Sendable {
    let connection: UnixSocketConnection
    let reply: ReplyCollector
    private let counter = Atomic<Int>(0)
    private let onProgress: (@Sendable (Int) -> Void)?

    init(connection: UnixSocketConnection, reply: ReplyCollector, onProgress: (@Sendable (Int) -> Void)?) {
        self.connection = connection
        self.reply = reply
        self.onProgress = onProgress
    }

    func write(_ chunk: Message) async throws {
        try await MessageClient.blocking { [connection, reply] in
            try chunk.buffer.withUnsafeReadableBytes { raw in try reply.write(raw, on: connection) }
        }
        let total = counter.add(chunk.count, ordering: .relaxed).newValue
        onProgress?(total)
    }

    var count: Int { counter.load(ordering: .relaxed) }
}

/// The reply of one exchange, collected while writing and after; used from one blocking call at a time.
final class ReplyCollector: @unchecked Sendable {
    private var buffer: ReplyBuffer

    init(maximumSize: Int) { buffer = ReplyBuffer(maximumSize: maximumSize) }

    func write(_ bytes: UnsafeRawBufferPointer, on connection: UnixSocketConnection) throws(UnixSocketError) {
        try connection.write(bytes, collectingReplyInto: &buffer)
    }

    /// Reads the rest of the reply. A server that refuses a message replies with an error line and closes while
    /// bytes of ours are still unread, which the kernel reports to us as a reset after that line: the line is the
    /// reply then.
    func readToEnd(on connection: UnixSocketConnection) throws(UnixSocketError) -> [UInt8] {
        do {
            try connection.readToEnd(into: &buffer)
        } catch where error.code == .connectionClosed && buffer.bytes.last == UInt8(ascii: "\n")
            && Acknowledgement.errorReason(in: Message(bytes: buffer.bytes)) != nil
        {
            return buffer.bytes
        }
        return buffer.bytes
    }
}
