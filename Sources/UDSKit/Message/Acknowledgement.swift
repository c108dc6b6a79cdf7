import NIOCore

/// The acknowledgement protocol: the reply to a message is the number of bytes received, in ASCII decimal, then
/// `"\n"`. A reply that starts with `"error: "` is the server saying why it did not take the message.
public enum Acknowledgement {
    /// The acknowledgement for a message of `count` bytes: `"\(count)\n"`.
    public static func reply(forByteCount count: Int) -> Message {
        Message("\(count)\n")
    }

    /// The prefix of an error reply.
    public static let errorPrefix = "error: "

    /// An error reply: `"error: \(reason)\n"`.
    public static func errorReply(_ reason: String) -> Message {
        Message(errorPrefix + reason + "\n")
    }

    /// What a server answers a peer its authorization policy refuses.
    public static let notAuthorizedReply = errorReply(notAuthorizedReason)
    static let notAuthorizedReason = "not authorized"

    /// The byte count an acknowledgement states, or `nil` if `reply` is not one.
    public static func byteCount(in reply: Message) -> Int? {
        let view = reply.buffer.readableBytesView
        guard view.count >= 2, view.last == UInt8(ascii: "\n") else { return nil }
        let digits = view.dropLast()
        guard digits.count <= 19, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return Int(String(decoding: digits, as: UTF8.self))
    }

    /// The reason an error reply gives, or `nil` if `reply` is not an error reply.
    public static func errorReason(in reply: Message) -> String? {
        let text = reply.string
        guard text.hasPrefix(errorPrefix) else { return nil }
        var reason = text.dropFirst(errorPrefix.count)
        if reason.hasSuffix("\n") { reason = reason.dropLast() }
        return String(reason)
    }

    /// The error an error reply states, or `nil` if `reply` is not an error reply.
    public static func error(in reply: Message, socket: String?) -> UnixSocketError? {
        errorReason(in: reply).map { serverError($0, operation: .reply, socket: socket) }
    }

    /// The error for an error reply: ``UnixSocketError/Code/permissionDenied`` when the server's policy refused us,
    /// ``UnixSocketError/Code/serverError`` otherwise.
    static func serverError(_ reason: String, operation: UnixSocketError.Operation, socket: String?) -> UnixSocketError
    {
        if reason == notAuthorizedReason {
            return UnixSocketError(
                .permissionDenied, operation: operation, socket: socket,
                detail: "the server's authorization policy does not admit this user")
        }
        return UnixSocketError(.serverError, operation: operation, socket: socket, detail: reason)
    }

    /// Checks that `reply` acknowledges exactly `sentCount` bytes.
    ///
    /// - Throws: ``UnixSocketError`` with ``UnixSocketError/Code/serverError`` for an error reply, or
    ///   ``UnixSocketError/Code/notAcknowledged`` when the reply is not an acknowledgement or states another count.
    public static func verify(_ reply: Message, sentCount: Int, socket: String?) throws {
        if let count = byteCount(in: reply) {
            guard count == sentCount else {
                throw UnixSocketError(
                    .notAcknowledged, operation: .acknowledge, socket: socket,
                    detail: "the server received \(count) bytes of \(sentCount) sent")
            }
            return
        }
        if let reason = errorReason(in: reply) {
            throw serverError(reason, operation: .acknowledge, socket: socket)
        }
        let shown = reply.count <= 60 ? reply.string.debugDescription : "\(reply.count) bytes"
        throw UnixSocketError(
            .notAcknowledged, operation: .acknowledge, socket: socket,
            detail: reply.count == 0
                ? "the server closed without replying" : "the reply \(shown) is not an acknowledgement")
    }
}
