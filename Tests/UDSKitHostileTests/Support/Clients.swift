import Foundation
import UDSKit
import UDSKitTestSupport

/// A blocking connection with generous timeouts: a server that never answers fails the test instead of hanging it.
func connectPatiently(_ path: String) throws -> UnixSocketConnection {
    let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
    try connection.setReadTimeout(.seconds(60))
    try connection.setWriteTimeout(.seconds(60))
    return connection
}

/// An honest message, different for every `(seed, index)` so that a mix-up between connections shows; 1 byte to
/// about 100 KB.
func honestMessage(seed: Int, index: Int) -> [UInt8] {
    let size = 1 + (index &* 7919 &+ seed &* 104_729) % 100_000
    var bytes = Array("honest \(seed) \(index) ".utf8)
    bytes += (0..<max(0, size - bytes.count)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &+ seed &* 7) }
    return bytes
}

/// One message to an acknowledging server: connect, write, half-close, read the reply to the end. Throws unless the
/// reply acknowledges exactly the bytes sent.
func deliverAcknowledged(_ path: String, _ bytes: [UInt8]) throws {
    let connection = try connectPatiently(path)
    defer { connection.close() }
    try connection.write(bytes)
    try connection.closeWrite()
    let reply = try connection.readToEnd(maximumSize: 4096)
    guard reply == Array("\(bytes.count)\n".utf8) else {
        throw TestFailure(
            "sent \(bytes.count) bytes, got the reply \(String(decoding: reply, as: UTF8.self).debugDescription)")
    }
}

/// One message to an echoing server, reading the echo while writing. Throws unless the echo is the message.
func deliverEchoed(_ path: String, _ bytes: [UInt8]) throws {
    let connection = try connectPatiently(path)
    defer { connection.close() }
    var reply = ReplyBuffer(maximumSize: bytes.count + 1)
    try bytes.withUnsafeBytes { raw in try connection.write(raw, collectingReplyInto: &reply) }
    try connection.closeWrite()
    try connection.readToEnd(into: &reply)
    guard reply.bytes == bytes else {
        throw TestFailure("sent \(bytes.count) bytes, got back \(reply.bytes.count) other bytes")
    }
}

/// An honest client of a framed server on one persistent connection.
final class FramedHonestClient {
    let connection: UnixSocketConnection
    private let reader: FrameReader

    init(_ path: String) throws {
        connection = try connectPatiently(path)
        reader = FrameReader(connection: connection, maximumFrameSize: 1 << 24)
    }

    /// Sends one frame and returns the frame that answers it; throws if the server closed instead.
    func request(_ payload: [UInt8]) throws -> [UInt8] {
        try connection.writeFrame(payload)
        guard let reply = try reader.readFrame() else { throw TestFailure("the server closed an honest connection") }
        return reply
    }

    /// Sends one frame to an echoing server; throws unless it comes back as it went.
    func echo(_ payload: [UInt8]) throws {
        let reply = try request(payload)
        guard reply == payload else {
            throw TestFailure("sent a \(payload.count)-byte frame, got back \(reply.count) other bytes")
        }
    }

    deinit { connection.close() }
}
