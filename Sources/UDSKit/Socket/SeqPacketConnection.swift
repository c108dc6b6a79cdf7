import NIOCore
import Synchronization
public import SystemPackage

/// A connected seqpacket socket (`SOCK_SEQPACKET`, Go's `"unixpacket"`): reliable and in order like a stream, but
/// each send arrives as one message, so no framing is needed. Blocking, like ``UnixSocketConnection``; the `async`
/// overloads wait on the client reactor instead, without a thread of their own.
///
/// ```swift
/// let connection = try SeqPacketConnection.connect(to: UnixSocketAddress("/run/app/packets.sock"))
/// let reply = try connection.request("status")
/// ```
///
/// A message may be as long as the socket's send buffer allows (`SO_SNDBUF`, about 208 KiB by default on Linux);
/// a longer one throws ``UnixSocketError/Code/messageTooLarge`` naming that limit. An empty message cannot be told
/// from the end of the connection by the reader, so `send(_:passing:)` refuses one.
public final class SeqPacketConnection: Sendable {
    /// The address this connection was made to.
    public let address: UnixSocketAddress
    let socket: OwnedSocket
    private var descriptor: CInt { socket.descriptor }
    private let discarded = Atomic<Int>(0)

    private init(descriptor: CInt, address: UnixSocketAddress) {
        self.socket = OwnedSocket(descriptor, name: address.description)
        self.address = address
    }

    /// Connects to the seqpacket server at `address`.
    ///
    /// - Parameters:
    ///   - address: The server's socket.
    ///   - timeout: How long to wait while the server's backlog is full; `nil` waits as long as it takes.
    /// - Throws: ``UnixSocketError``, as ``UnixSocketConnection/connect(to:timeout:)``;
    ///   ``UnixSocketError/Code/wrongSocketType`` when the socket there is not a seqpacket socket.
    public static func connect(to address: UnixSocketAddress, timeout: Duration? = nil) throws
        -> SeqPacketConnection
    {
        let fd = try UnixSocketConnection.connectedDescriptor(to: address, timeout: timeout, type: .seqPacket)
        return SeqPacketConnection(descriptor: fd, address: address)
    }

    /// Sends `message` as one packet, with `descriptors` attached (`SCM_RIGHTS`; they stay open here).
    ///
    /// - Throws: ``UnixSocketError/Code/messageTooLarge`` past the socket's send buffer;
    ///   ``UnixSocketError/Code/invalidMessage`` for an empty message;
    ///   ``UnixSocketError/Code/connectionClosed`` when the server has closed;
    ///   ``UnixSocketError/Code/timedOut`` past the write timeout.
    public func send(_ message: Message, passing descriptors: [SystemPackage.FileDescriptor] = [])
        throws
    {
        _ = try send(message, passing: descriptors, dontWait: false)
    }

    /// As `send(_:passing:)`; with `dontWait`, returns `false` instead of waiting when the socket has no room.
    func send(
        _ message: Message, passing descriptors: [SystemPackage.FileDescriptor], dontWait: Bool
    ) throws(UnixSocketError) -> Bool {
        guard message.count > 0 else {
            throw UnixSocketError(
                .invalidMessage, operation: .send, socket: address.description,
                detail: "it is empty, and an empty packet reads as the end of the connection")
        }
        do {
            return try message.buffer.withUnsafeReadableBytes { bytes throws(Errno) in
                try Syscall.sendPacket(descriptor, bytes, descriptors: descriptors.map(\.rawValue), dontWait: dontWait)
            }
        } catch {
            throw PacketIO.sendFailure(error, bytes: message.count, descriptor: descriptor, socket: address.description)
        }
    }

    /// Waits for the next message; `nil` once the server has closed the connection.
    ///
    /// Descriptors passed with it are closed and counted in ``discardedDescriptorCount``; use
    /// `receive(maximumSize:descriptors:limit:)` to take them.
    ///
    /// - Parameter maximumSize: The longest message accepted; a longer one throws
    ///   ``UnixSocketError/Code/messageTooLarge``, and the kernel has dropped it.
    public func receive(maximumSize: Int = 256 * 1024) throws -> Message? {
        var descriptors: [ReceivedDescriptor] = []
        return try receive(maximumSize: maximumSize, descriptors: &descriptors, limit: 0)
    }

    /// Waits for the next message and takes the descriptors passed with it (up to `limit`; more are closed).
    public func receive(
        maximumSize: Int = 256 * 1024, descriptors: inout [ReceivedDescriptor], limit: Int = 16
    ) throws -> Message? {
        let received = try PacketIO.receive(
            descriptor, maximumSize: maximumSize, limit: limit, wantsSender: false, socket: address.description)
        return try take(received, descriptors: &descriptors, limit: limit)
    }

    /// As `receive(maximumSize:)` without waiting: `.none` when nothing is there yet, `.some(nil)` at the end.
    func receiveIfReady(maximumSize: Int) throws(UnixSocketError) -> Message?? {
        guard
            let received = try PacketIO.receive(
                descriptor, maximumSize: maximumSize, limit: 0, wantsSender: false, socket: address.description,
                dontWait: true)
        else { return .none }
        var descriptors: [ReceivedDescriptor] = []
        return .some(try take(received, descriptors: &descriptors, limit: 0))
    }

    private func take(
        _ received: PacketIO.Received, descriptors: inout [ReceivedDescriptor], limit: Int
    ) throws(UnixSocketError) -> Message? {
        if let tooLarge = received.tooLarge { throw tooLarge }
        if received.passed.wasTruncated && limit == 0 { discarded.add(1, ordering: .relaxed) }
        descriptors.append(contentsOf: received.passed.descriptors)
        // An empty packet and the end of the connection both read as 0 bytes: the end it is.
        return received.message.count == 0 ? nil : received.message
    }

    /// Sends `message` and waits for the reply packet.
    ///
    /// - Throws: as `send(_:passing:)` and `receive(maximumSize:)`;
    ///   ``UnixSocketError/Code/connectionClosed`` if the server closes instead of replying.
    public func request(_ message: Message, maximumReplySize: Int = 256 * 1024) throws -> Message {
        try send(message)
        guard let reply = try receive(maximumSize: maximumReplySize) else {
            throw UnixSocketError(
                .connectionClosed, operation: .receive, socket: address.description,
                detail: "the server closed the connection instead of replying")
        }
        return reply
    }

    /// The server's process, user and group IDs, as the kernel reports them (`SO_PEERCRED`).
    public func peerCredentials() throws -> PeerCredentials {
        try socket.peerCredentials()
    }

    /// Sets how long a receive may wait; `nil` waits forever (`SO_RCVTIMEO`).
    public func setReadTimeout(_ timeout: Duration?) throws {
        try socket.setTimeout(option: Syscall.receiveTimeoutOption, timeout)
    }

    /// Sets how long a send may wait for room; `nil` waits forever (`SO_SNDTIMEO`).
    public func setWriteTimeout(_ timeout: Duration?) throws {
        try socket.setTimeout(option: Syscall.sendTimeoutOption, timeout)
    }

    /// How many receives closed descriptors the server passed, because they took none.
    public var discardedDescriptorCount: Int { discarded.load(ordering: .relaxed) }

    /// Tells the server no more messages come (`shutdown(SHUT_WR)`); replies can still be received.
    public func closeWrite() throws {
        try socket.closeWrite()
    }

    /// Closes the connection; a receive waiting on another thread returns. Later calls do nothing.
    public func close() {
        socket.close()
    }
}
