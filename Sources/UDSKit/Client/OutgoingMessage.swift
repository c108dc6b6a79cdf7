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
    /// Descriptors passed with the first bytes.
    var descriptors: [SystemPackage.FileDescriptor] = []

    /// This message, passing `descriptors` (open files, pipes, sockets) to the server with its first bytes
    /// (`SCM_RIGHTS`). They stay open here; the server gets its own copies. The message must not be empty.
    public func passing(_ descriptors: [SystemPackage.FileDescriptor]) -> OutgoingMessage {
        var copy = self
        copy.descriptors += descriptors
        return copy
    }

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
    /// Passed with the first chunk that has bytes.
    private let descriptors: Locked<[SystemPackage.FileDescriptor]>

    init(
        connection: UnixSocketConnection, reply: ReplyCollector, descriptors: [SystemPackage.FileDescriptor],
        onProgress: (@Sendable (Int) -> Void)?
    ) {
        self.connection = connection
        self.reply = reply
        self.descriptors = Locked(descriptors)
        self.onProgress = onProgress
    }

    func write(_ chunk: Message) async throws {
        guard chunk.count > 0 else { return }
        let passing = descriptors.withLock { descriptors in
            defer { descriptors = [] }
            return descriptors
        }
        try await MessageClient.blocking { [connection, reply] in
            try chunk.buffer.withUnsafeReadableBytes { raw in try reply.write(raw, passing: passing, on: connection) }
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

    /// Writes `bytes`, the first of them carrying `descriptors`.
    func write(
        _ bytes: UnsafeRawBufferPointer, passing descriptors: [SystemPackage.FileDescriptor], on connection: UnixSocketConnection
    ) throws(UnixSocketError) {
        guard !descriptors.isEmpty else { return try write(bytes, on: connection) }
        let first = min(bytes.count, 4096)
        try connection.write(UnsafeRawBufferPointer(rebasing: bytes[..<first]), passing: descriptors)
        try write(UnsafeRawBufferPointer(rebasing: bytes[first...]), on: connection)
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
