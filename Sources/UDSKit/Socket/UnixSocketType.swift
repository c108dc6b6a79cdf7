/// The kind of a Unix domain socket: a byte stream, or messages whose boundaries the kernel keeps.
public struct UnixSocketType: Hashable, Sendable, CustomStringConvertible {
    let rawValue: CInt

    init(rawValue: CInt) { self.rawValue = rawValue }

    /// A connected byte stream (`SOCK_STREAM`): what Go calls `"unix"`. Messages need an end (half-close) or a frame.
    public static let stream = UnixSocketType(rawValue: Syscall.streamSocket)
    /// Connected, reliable, in order, with each send arriving as one message (`SOCK_SEQPACKET`): Go's
    /// `"unixpacket"`. No framing needed.
    public static let seqPacket = UnixSocketType(rawValue: Syscall.seqPacketSocket)
    /// Connectionless messages to and from addresses (`SOCK_DGRAM`): Go's `"unixgram"`. Reliable on Unix sockets (a
    /// full receiver makes the sender wait), with message boundaries.
    public static let datagram = UnixSocketType(rawValue: Syscall.datagramSocket)

    /// Whether the kernel keeps message boundaries (seqpacket and datagram sockets).
    var keepsMessageBoundaries: Bool { self != .stream }

    public var description: String {
        switch self {
        case .stream: return "stream"
        case .seqPacket: return "seqpacket"
        case .datagram: return "datagram"
        default: return "type \(rawValue)"
        }
    }
}
