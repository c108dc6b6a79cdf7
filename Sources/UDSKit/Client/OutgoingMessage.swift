public import NIOCore
public import SystemPackage

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
    private let counter = ByteCounter()

    init(connection: UnixSocketConnection) { self.connection = connection }

    func write(_ chunk: Message) async throws {
        try await MessageClient.blocking { [connection] in
            try chunk.buffer.withUnsafeReadableBytes { raw in try connection.write(raw) }
        }
        counter.add(chunk.count)
    }

    var count: Int { counter.value }
}

import Synchronization

final class ByteCounter: Sendable {
    private let atomic = Atomic<Int>(0)
    func add(_ count: Int) { atomic.add(count, ordering: .relaxed) }
    var value: Int { atomic.load(ordering: .relaxed) }
}
