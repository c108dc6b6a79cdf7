public import NIOCore
import Synchronization
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
    /// Descriptors passed with the first bytes.
    var descriptors: [SystemPackage.FileDescriptor] = []

    /// What produces the chunks of a `.chunks` message; `nil` for the others.
    var chunkProducer: (@Sendable (ChunkWriter) async throws -> Void)? {
        if case .chunks(let produce) = source { return produce }
        return nil
    }

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

/// Writes the chunks of an ``OutgoingMessage`` through its exchange, one at a time: each `write` returns once the
/// socket has taken the chunk, so memory stays bounded by one chunk.
final class ChunkWriter: Sendable {
    private let exchange: ReactorBound<ClientExchange>
    private let counter = Atomic<Int>(0)

    init(exchange: ClientExchange, reactor: Reactor) {
        self.exchange = ReactorBound(exchange, on: reactor)
    }

    /// On the reactor's thread (a task on its executor) the chunk is written at once, and the task suspends only
    /// when the socket does not take all of it.
    func write(_ chunk: Message) async throws {
        guard chunk.count > 0 else { return }
        let exchange = self.exchange
        if exchange.reactor.inLoop {
            if try !exchange.valueInLoop.write(chunk.buffer) {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    exchange.valueInLoop.awaitRoom(continuation)
                }
            }
        } else {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                exchange.execute { $0.write(chunk.buffer, then: continuation) }
            }
        }
        counter.add(chunk.count, ordering: .relaxed)
    }

    var count: Int { counter.load(ordering: .relaxed) }
}
