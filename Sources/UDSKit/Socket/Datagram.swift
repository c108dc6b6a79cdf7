/// One message received on a ``DatagramSocket``, with who sent it.
public struct Datagram: Sendable {
    /// The message's bytes; may be empty (an empty datagram is a message like any other).
    public var message: Message
    /// The sender's address, to reply to; `nil` when the sender's socket is unbound (it cannot be answered).
    public var sender: UnixSocketAddress?
    /// The sender's process, user and group IDs, attached by the kernel to this datagram (`SCM_CREDENTIALS`, Linux;
    /// `nil` elsewhere).
    public var senderCredentials: PeerCredentials?
    /// Open descriptors passed with the message (`SCM_RIGHTS`), closed when released unless taken.
    public var descriptors: [ReceivedDescriptor]
}
