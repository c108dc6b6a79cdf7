/// The limits a ``ConnectionDriver`` enforces. Every connection with the same limits shares one object (one per
/// server protocol, one for all clients): 8 bytes in each connection where the values take 64, which counts when a
/// server holds tens of thousands.
final class ConnectionLimits: Sendable {
    /// Reading pauses while this many bytes or more wait to be written (1: while any do).
    let outboundLimit: Int
    /// How long the peer may owe something (``ConnectionDriver/owedByPeer``) without progress; `nil`: no limit.
    let idleTimeout: Duration?
    /// How long after opening the peer may still owe something; `nil`: no limit.
    let messageDeadline: Duration?
    /// Passed descriptors kept per read (0: each is closed as it comes).
    let descriptorLimit: Int

    init(outboundLimit: Int, idleTimeout: Duration?, messageDeadline: Duration? = nil, descriptorLimit: Int = 0) {
        self.outboundLimit = outboundLimit
        self.idleTimeout = idleTimeout
        self.messageDeadline = messageDeadline
        self.descriptorLimit = descriptorLimit
    }

    /// A client's: requests are bounded by their callers (each waits for its reply), so the outbound queue is not,
    /// and reading never waits for writing; no timeouts here (a client's own reply timeouts are its tasks').
    static let client = ConnectionLimits(outboundLimit: .max, idleTimeout: nil)
}
