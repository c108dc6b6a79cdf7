import Logging
import NIOCore
import Synchronization
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
    public var context: MessageContext { connection.context }
    /// Held rather than its context: a context copied per call cost its logger's retains and releases.
    let connection: FramedServerConnection

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
    @usableFromInline let channel: VarlinkReplyChannel

    @usableFromInline init(channel: VarlinkReplyChannel) { self.channel = channel }

    /// Sends `reply` with `"continues": true`.
    ///
    /// - Throws: ``VarlinkError/expectedMore()`` when the call was made without `more` (which the handler then
    ///   answers with), or ``UnixSocketError/Code/connectionClosed`` once the client is gone or no longer reads.
    public nonisolated(nonsending) func send(_ reply: Reply) async throws {
        try checkCanSend()
        try await channel.reply(reply, continues: true)
    }

    /// Throws what ``send(_:)`` throws before it writes anything.
    func checkCanSend() throws {
        guard channel.more else { throw VarlinkError.expectedMore() }
        guard !channel.connection.isOutputClosed else {
            throw UnixSocketError(.connectionClosed, operation: .send, detail: "the client stopped reading")
        }
    }
}

extension VarlinkReplyStream where Reply: VarlinkJSONCodable {
    /// Sends `reply` with `"continues": true`, written by its own ``VarlinkJSONCodable/write(to:)``.
    ///
    /// - Throws: As the `Encodable` overload: ``VarlinkError/expectedMore()`` without `more`,
    ///   ``UnixSocketError/Code/connectionClosed`` once the client is gone or no longer reads.
    public nonisolated(nonsending) func send(_ reply: Reply) async throws {
        try checkCanSend()
        try await channel.reply(json: reply, continues: true)
    }
}

/// Writes one call's replies to its connection, in the framing and with the flags of the call.
@usableFromInline
struct VarlinkReplyChannel: Sendable {
    let connection: FramedServerConnection
    let writer: VarlinkReplyWriter
    let more: Bool
    let oneway: Bool
    /// The output signature, to check replies against in debug builds.
    let check: (@Sendable (JSONValue) throws(VarlinkError) -> Void)?

    @usableFromInline
    nonisolated(nonsending) func reply(_ parameters: some Encodable, continues: Bool) async throws {
        guard !oneway else { return }
        let hasSpace = try writer.reply(parameters, continues: continues) { bytes in try enqueue(bytes) }
        if !hasSpace { try await connection.waitForSpace() }
    }

    /// As ``reply(_:continues:)``, the parameters written by their own ``VarlinkJSONCodable/write(to:)``.
    @usableFromInline
    nonisolated(nonsending) func reply(json parameters: some VarlinkJSONCodable, continues: Bool) async throws {
        guard !oneway else { return }
        let hasSpace = try writer.reply(json: parameters, continues: continues) { bytes in try enqueue(bytes) }
        if !hasSpace { try await connection.waitForSpace() }
    }

    nonisolated(nonsending) func reply(error: VarlinkError) async throws {
        guard !oneway else { return }
        let hasSpace = try writer.reply(error: error) { bytes in try connection.enqueue(bytes) }
        if !hasSpace { try await connection.waitForSpace() }
    }

    /// Queues a reply's bytes (checked against the method's signature in debug builds); whether there is room for
    /// more.
    private func enqueue(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        #if DEBUG
            checkReply(bytes)
        #endif
        return try connection.enqueue(bytes)
    }

    #if DEBUG
        private func checkReply(_ bytes: UnsafeRawBufferPointer) {
            guard let check else { return }
            do {
                try check(try VarlinkReplyMessage(parsing: bytes).parameters ?? .object([:]))
            } catch {
                connection.context.logger.warning(
                    "varlink reply does not match the method's signature", metadata: ["varlink.problem": "\(error)"])
            }
        }
    #endif
}

/// A connection's reply encoder, kept between replies so that a reply allocates nothing for its bytes, which go
/// straight into the connection's queue; locked, since a handler may send its stream's replies from several tasks.
final class VarlinkReplyWriter: @unchecked Sendable {
    // @unchecked: `json` is used only while holding `lock`.
    private let lock = Mutex(())
    private let json = JSONBufferEncoder()
    /// For what ``JSONBufferEncoder`` leaves to JSONEncoder.
    private let fallback = JSONEncoder()

    /// Encodes a reply and hands its bytes to `written`, under the lock.
    func reply(
        _ parameters: some Encodable, continues: Bool, then written: (UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Bool {
        try lock.withLock { _ in
            try VarlinkJSON.reply(parameters, continues: continues, with: json, fallback: fallback, then: written)
        }
    }

    /// Encodes a reply by its own ``VarlinkJSONCodable/write(to:)`` and hands its bytes to `written`, under the lock.
    func reply(
        json parameters: some VarlinkJSONCodable, continues: Bool,
        then written: (UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Bool {
        try lock.withLock { _ in
            try VarlinkJSON.reply(
                json: parameters, continues: continues, with: json, fallback: fallback, then: written)
        }
    }

    /// Encodes an error reply and hands its bytes to `written`, under the lock.
    func reply(error: VarlinkError, then written: (UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        try lock.withLock { _ in try VarlinkJSON.reply(error: error, with: json, fallback: fallback, then: written) }
    }
}
