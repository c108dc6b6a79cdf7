/// An error a handler throws to refuse a message with a reason the client may read.
///
/// The client gets `error: <reason>` as its reply. Any other error a handler throws is logged, and the client gets
/// `error: the handler failed`, so that internal details do not leak to clients.
public struct MessageRejection: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why the message was refused; sent to the client.
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}

/// The reply for a handler's error: a rejection's own reason, otherwise a generic one.
func errorReply(for error: any Error) -> Message {
    if let rejection = error as? MessageRejection { return Acknowledgement.errorReply(rejection.reason) }
    if let socketError = error as? UnixSocketError, socketError.code == .messageTooLarge {
        return Acknowledgement.errorReply(socketError.detail ?? "message too large")
    }
    return Acknowledgement.errorReply("the handler failed")
}
