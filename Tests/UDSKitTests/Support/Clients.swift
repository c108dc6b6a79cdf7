import NIOCore
import UDSKit
import UDSKitTestSupport

/// A client whose reads give up after two minutes, so that a server that never answers fails the test instead of
/// hanging it.
func makeClient(_ path: String, configure: (inout MessageClient.Configuration) -> Void = { _ in }) throws
    -> MessageClient
{
    var configuration = MessageClient.Configuration()
    configuration.replyTimeout = .seconds(120)
    configure(&configuration)
    return try MessageClient(path: path, configuration: configuration)
}

/// `count` bytes that differ from message to message (so that a mix-up between connections shows).
func payload(_ count: Int, seed: Int = 0) -> [UInt8] {
    // A block of a prime length, repeated: cheap to make even in a debug build, and never in step with buffer sizes.
    let block = (0..<min(count, 4093)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7 &+ ($0 >> 8)) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    while bytes.count < count { bytes.append(contentsOf: block.prefix(count - bytes.count)) }
    return bytes
}

/// One exchange on a blocking connection, the way a client on a thread of its own makes it: connect, write,
/// half-close, read the reply to the end.
func exchangeBlocking(_ path: String, _ bytes: [UInt8]) throws -> [UInt8] {
    let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
    defer { connection.close() }
    try connection.setReadTimeout(.seconds(120))
    try connection.setWriteTimeout(.seconds(120))
    try connection.write(bytes)
    try connection.closeWrite()
    return try connection.readToEnd(maximumSize: 1 << 20)
}

/// The three ways a server can acknowledge: the built-in handler, a buffered one and a streaming one written by a
/// user. Tests about serving run against each.
enum AcknowledgingHandler: String, CaseIterable, Sendable, CustomStringConvertible {
    case builtIn, buffered, streaming

    var handler: MessageHandler {
        switch self {
        case .builtIn:
            return .acknowledge
        case .buffered:
            return .buffered { message, _ in Acknowledgement.reply(forByteCount: message.count) }
        case .streaming:
            return .streaming { body, _ in
                var count = 0
                for try await chunk in body { count += chunk.readableBytes }
                return Acknowledgement.reply(forByteCount: count)
            }
        }
    }

    var description: String { rawValue }
}

/// Lazily made chunks of `chunkSize` bytes, `chunkCount` of them: a large message that is never in memory whole.
struct GeneratedChunks: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let chunkCount: Int
    let chunkSize: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: Int
        let chunk: [UInt8]
        mutating func next() async -> [UInt8]? {
            guard remaining > 0 else { return nil }
            remaining -= 1
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(remaining: chunkCount, chunk: payload(chunkSize))
    }
}
