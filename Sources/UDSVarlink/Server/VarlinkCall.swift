import Logging
import NIOCore
public import UDSKit

// JSONEncoder from FoundationEssentials, not Foundation: no libFoundation.so or ICU in a varlink program. Darwin has
// no FoundationEssentials module; there Foundation is the same code.
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a method handler knows about the call it answers: the method, its flags and the connection.
public struct VarlinkCall: Sendable {
    /// The fully qualified method, `interface.Method`.
    public let method: String
    /// The caller accepts several replies (`"more": true`).
    public let more: Bool
    /// The caller wants no reply (`"oneway": true`); whatever the handler returns is dropped.
    public let oneway: Bool
    /// The connection's ID, logger and the peer's credentials.
    public let context: MessageContext

    /// The calling process's IDs, as the kernel reported them at accept; `nil` if they could not be read.
    public var peer: PeerCredentials? { context.peer }
}

/// The replies a ``VarlinkMethods/streamingMethod(_:_:)`` handler sends before its last one, each with
/// `"continues": true`.
///
/// ``send(_:)`` waits while the client is behind on reading
/// (``MessageServer/Configuration/maximumOutboundBytes``), so a client that never reads a stream holds up only its
/// own connection, and the server's memory for it stays bounded.
public struct VarlinkReplyStream<Reply: Encodable & Sendable>: Sendable {
    let channel: VarlinkReplyChannel

    /// Sends `reply` with `"continues": true`.
    ///
    /// - Throws: ``VarlinkError/expectedMore()`` when the call was made without `more` (which the handler then
    ///   answers with), or ``UnixSocketError/Code/connectionClosed`` once the client is gone or no longer reads.
    public nonisolated(nonsending) func send(_ reply: Reply) async throws {
        guard channel.more else { throw VarlinkError.expectedMore() }
        guard !channel.connection.isOutputClosed else {
            throw UnixSocketError(.connectionClosed, operation: .send, detail: "the client stopped reading")
        }
        try await channel.reply(reply, continues: true)
    }
}

/// Writes one call's replies to its connection, in the framing and with the flags of the call.
final class VarlinkReplyChannel: Sendable {
    let connection: FramedServerConnection
    let more: Bool
    let oneway: Bool
    /// The output signature, to check replies against in debug builds.
    let check: (@Sendable (JSONValue) throws(VarlinkError) -> Void)?
    /// The connection's encoder; calls on a connection run one at a time, so it is never used concurrently.
    let encoder: JSONEncoder

    init(
        connection: FramedServerConnection, more: Bool, oneway: Bool, encoder: JSONEncoder,
        check: (@Sendable (JSONValue) throws(VarlinkError) -> Void)?
    ) {
        self.encoder = encoder
        self.connection = connection
        self.more = more
        self.oneway = oneway
        self.check = check
    }

    nonisolated(nonsending) func reply(_ parameters: some Encodable, continues: Bool) async throws {
        guard !oneway else { return }
        let bytes = try VarlinkJSON.reply(parameters, continues: continues, fallback: encoder)
        #if DEBUG
            if let check {
                do {
                    let reply = try bytes.withUnsafeReadableBytes { raw throws(VarlinkProtocolError) in
                        try VarlinkReplyMessage(parsing: raw)
                    }
                    try check(reply.parameters ?? .object([:]))
                } catch {
                    connection.context.logger.warning(
                        "varlink reply does not match the method's signature",
                        metadata: ["varlink.problem": "\(error)"])
                }
            }
        #endif
        try await send(bytes)
    }

    nonisolated(nonsending) func reply(error: VarlinkError) async throws {
        guard !oneway else { return }
        try await send(try VarlinkJSON.reply(error: error, fallback: encoder))
    }

    /// Sends one reply's JSON: the delimiter written after it in place, on a varlink server's `.delimited(0)`.
    nonisolated(nonsending) private func send(_ json: ByteBuffer) async throws {
        if connection.framing == .delimited(0) {
            var frame = json
            frame.writeInteger(UInt8(0))
            try await connection.send(framed: frame)
        } else {
            try await connection.send(Message(buffer: json))
        }
    }
}
