import NIOCore
import Synchronization
public import SystemPackage

/// A Unix datagram socket (`SOCK_DGRAM`, Go's `"unixgram"`): messages to and from addresses, without connections.
///
/// Unlike UDP, Unix datagrams are reliable and in order: a sender waits while the receiver's queue is full. Each
/// send is one message. Blocking, like ``UnixSocketConnection``; the `async` overloads wait on the client reactor
/// instead, without a thread of their own.
///
/// ```swift
/// let server = try DatagramSocket.bind(to: UnixSocketAddress("/run/app/events.sock"))
/// let datagram = try server.receive()
/// if let sender = datagram.sender { try server.send("got it", to: sender) }
///
/// let client = try DatagramSocket.autobound()   // an address the server can reply to
/// try client.send("hello", to: UnixSocketAddress("/run/app/events.sock"))
/// ```
///
/// A bound socket asks the kernel for each sender's credentials and takes only datagrams its
/// ``AuthorizationPolicy`` admits (the same user by default); others are dropped with their descriptors and counted
/// in ``refusedCount``. A message may be as long as the sender's send buffer allows (`SO_SNDBUF`, about 208 KiB by
/// default on Linux); past it a send throws ``UnixSocketError/Code/messageTooLarge`` naming that limit.
public final class DatagramSocket: Sendable {
    /// The address this socket receives on; `nil` for an unbound socket, which can only send.
    public let localAddress: UnixSocketAddress?
    let socket: OwnedSocket
    private var descriptor: CInt { socket.descriptor }
    private let file: SocketFileOwnership?
    private let authorization: AuthorizationPolicy
    private let serverUserID = AuthorizationPolicy.processUserID
    private let refused = Atomic<Int>(0)

    private init(
        descriptor: CInt, localAddress: UnixSocketAddress?, file: SocketFileOwnership?,
        authorization: AuthorizationPolicy
    ) {
        self.socket = OwnedSocket(descriptor, name: localAddress?.description)
        self.localAddress = localAddress
        self.file = file
        self.authorization = authorization
    }

    deinit { if socket.isOpen { file?.removeIfOurs() } }

    /// A socket bound to `address`, to receive on. A stale socket file there is replaced; a live socket or anything
    /// that is not a socket is left alone and this throws, as for ``MessageServer``. The file gets `permissions`
    /// (0600 by default) and `groupID` before the first datagram can arrive with credentials unchecked.
    ///
    /// - Parameters:
    ///   - address: A path, or `@name` for a Linux abstract name.
    ///   - permissions: The socket file's mode; who may send. Default `0600`.
    ///   - groupID: The socket file's group, for a `0660` mode; `nil` keeps the creator's.
    ///   - authorization: Whose datagrams `receive` returns. An abstract name (`@name`) has no file permissions, so
    ///     ``AuthorizationPolicy/anyone`` is refused there unless `allowsUnprotectedAbstractSocket`.
    ///   - allowsUnprotectedAbstractSocket: Bind an abstract name with ``AuthorizationPolicy/anyone`` anyway.
    /// - Throws: ``UnixSocketError``: ``UnixSocketError/Code/serverAlreadyListening``,
    ///   ``UnixSocketError/Code/notASocket``, ``UnixSocketError/Code/permissionDenied``.
    public static func bind(
        to address: UnixSocketAddress,
        permissions: FilePermissions = [.ownerRead, .ownerWrite],
        groupID: UInt32? = nil,
        authorization: AuthorizationPolicy = .sameUser,
        allowsUnprotectedAbstractSocket: Bool = false
    ) throws(UnixSocketError) -> DatagramSocket {
        if address.isAbstract && authorization.allowsAnyone && !allowsUnprotectedAbstractSocket {
            throw UnixSocketError(
                .permissionDenied, operation: .bind, socket: "\(address)",
                detail:
                    "an abstract socket has no file permissions, so admitting anyone would let every process on the machine in; set an authorization policy, or allowsUnprotectedAbstractSocket to do it anyway"
            )
        }
        let bound = try ListeningSocket.bind(
            to: address, permissions: permissions, group: groupID, backlog: 0, type: .datagram)
        return DatagramSocket(
            descriptor: bound.descriptor, localAddress: address, file: bound.file, authorization: authorization)
    }

    /// An unbound socket: it sends, and receivers see no address to reply to.
    public static func unbound() throws -> DatagramSocket {
        let fd = try makeSocket()
        return DatagramSocket(descriptor: fd, localAddress: nil, file: nil, authorization: .anyone)
    }

    /// A socket bound to an abstract name the kernel picks (Linux autobind), so that receivers can reply to it. It
    /// takes datagrams from the same user only unless `authorization` says otherwise: anyone can send to an abstract
    /// name. To take replies from a server another user runs, ``connect(to:)`` it as well (the kernel then drops
    /// datagrams from any other address) and pass ``AuthorizationPolicy/anyone``, as `uds send --datagram` does.
    public static func autobound(authorization: AuthorizationPolicy = .sameUser) throws
        -> DatagramSocket
    {
        let fd = try makeSocket()
        do {
            try Syscall.passCredentials(fd)
            try Syscall.autobind(fd)
            let address = try Syscall.localAddress(fd)
            return DatagramSocket(descriptor: fd, localAddress: address, file: nil, authorization: authorization)
        } catch {
            Syscall.close(fd)
            throw UnixSocketError.from(error, operation: .bind, socket: nil)
        }
    }

    private static func makeSocket() throws(UnixSocketError) -> CInt {
        do {
            return try Syscall.makeSocket(.datagram)
        } catch {
            throw UnixSocketError.from(error, operation: .socket, socket: nil)
        }
    }

    /// Sets the address sends go to by default, and receives only from it (`connect(2)` on a datagram socket).
    public func connect(to address: UnixSocketAddress) throws {
        do {
            try Syscall.connect(descriptor, to: address)
        } catch .protocolWrongTypeForSocket {
            throw UnixSocketError(
                .wrongSocketType, operation: .connect, socket: "\(address)", systemError: .protocolWrongTypeForSocket,
                detail: "the socket there is not a datagram socket")
        } catch {
            throw UnixSocketError.from(error, operation: .connect, socket: "\(address)")
        }
    }

    /// Sends `message` as one datagram to `address` (`nil`: the connected address), with `descriptors` attached
    /// (they stay open here). Waits while the receiver's queue is full.
    ///
    /// - Throws: ``UnixSocketError/Code/messageTooLarge`` past the send buffer;
    ///   ``UnixSocketError/Code/noSocketFile`` or ``UnixSocketError/Code/staleSocketFile`` when nobody receives at
    ///   `address`; ``UnixSocketError/Code/timedOut`` past the write timeout.
    public func send(
        _ message: Message, to address: UnixSocketAddress? = nil,
        passing descriptors: [SystemPackage.FileDescriptor] = []
    ) throws {
        _ = try send(message, to: address, passing: descriptors, dontWait: false)
    }

    /// As `send(_:to:passing:)`; with `dontWait`, returns `false` instead of waiting while the receiver's queue is
    /// full.
    func send(
        _ message: Message, to address: UnixSocketAddress?, passing descriptors: [SystemPackage.FileDescriptor],
        dontWait: Bool
    ) throws(UnixSocketError) -> Bool {
        do {
            return try message.buffer.withUnsafeReadableBytes { bytes throws(Errno) in
                try Syscall.sendPacket(
                    descriptor, bytes, descriptors: descriptors.map(\.rawValue), to: address, dontWait: dontWait)
            }
        } catch .protocolWrongTypeForSocket {
            throw UnixSocketError(
                .wrongSocketType, operation: .send, socket: address?.description,
                systemError: .protocolWrongTypeForSocket,
                detail: "the socket there is not a datagram socket")
        } catch {
            throw PacketIO.sendFailure(
                error, bytes: message.count, descriptor: descriptor, socket: address?.description)
        }
    }

    /// Waits for the next datagram the authorization policy admits.
    ///
    /// - Parameters:
    ///   - maximumSize: The longest message accepted; a longer one throws ``UnixSocketError/Code/messageTooLarge``
    ///     (the kernel has dropped it) and the next receive goes on with the next datagram.
    ///   - descriptorLimit: Descriptors taken per datagram; more are closed. Default 0: none are taken.
    public func receive(maximumSize: Int = 64 * 1024, descriptorLimit: Int = 0) throws -> Datagram {
        switch try receiveOrTooLarge(maximumSize: maximumSize, descriptorLimit: descriptorLimit) {
        case .datagram(let datagram): return datagram
        case .tooLarge(let error, _): throw error
        }
    }

    /// What `receiveOrTooLarge` got: a datagram, or the error for one past
    /// `maximumSize` with its sender, whom a server may tell.
    package enum Receipt: Sendable {
        case datagram(Datagram)
        case tooLarge(UnixSocketError, sender: UnixSocketAddress?)
    }

    /// As `receive`, but a datagram past `maximumSize` (from an admitted sender)
    /// comes back with its sender instead of being thrown.
    package func receiveOrTooLarge(maximumSize: Int, descriptorLimit: Int) throws(UnixSocketError) -> Receipt {
        guard
            let receipt = try receiveOrTooLarge(
                maximumSize: maximumSize, descriptorLimit: descriptorLimit, dontWait: false)
        else {
            throw UnixSocketError(
                .timedOut, operation: .receive, socket: localAddress?.description,
                systemError: .resourceTemporarilyUnavailable)
        }
        return receipt
    }

    /// As `receiveOrTooLarge(maximumSize:descriptorLimit:)`; with `dontWait`, `nil` when no admitted datagram is
    /// there.
    func receiveOrTooLarge(maximumSize: Int, descriptorLimit: Int, dontWait: Bool) throws(UnixSocketError) -> Receipt? {
        while true {
            guard
                let received = try PacketIO.receive(
                    descriptor, maximumSize: maximumSize, limit: descriptorLimit, wantsSender: true,
                    socket: localAddress?.description, dontWait: dontWait)
            else { return nil }
            if !socket.isOpen {
                throw UnixSocketError(.connectionClosed, operation: .receive, detail: "the socket was closed")
            }
            guard admits(received.packet.credentials) else {
                refused.add(1, ordering: .relaxed)
                continue
            }
            if let tooLarge = received.tooLarge { return .tooLarge(tooLarge, sender: received.packet.sender) }
            return .datagram(
                Datagram(
                    message: received.message, sender: received.packet.sender,
                    senderCredentials: received.packet.credentials, descriptors: received.passed.descriptors))
        }
    }

    private func admits(_ credentials: PeerCredentials?) -> Bool {
        if authorization.allowsAnyone { return true }
        guard let credentials else { return false }
        return authorization.admits(credentials, serverUserID: serverUserID)
    }

    /// How many datagrams `receive` dropped because the authorization policy did
    /// not admit their sender.
    public var refusedCount: Int { refused.load(ordering: .relaxed) }

    /// Sets how long a receive may wait; `nil` waits forever (`SO_RCVTIMEO`).
    public func setReadTimeout(_ timeout: Duration?) throws {
        try socket.setTimeout(option: Syscall.receiveTimeoutOption, timeout)
    }

    /// Sets how long a send may wait for room at the receiver; `nil` waits forever (`SO_SNDTIMEO`).
    public func setWriteTimeout(_ timeout: Duration?) throws {
        try socket.setTimeout(option: Syscall.sendTimeoutOption, timeout)
    }

    /// Closes the socket and removes its socket file if it is still the one this socket bound. Later calls do
    /// nothing.
    public func close() {
        guard socket.isOpen else { return }
        file?.removeIfOurs()
        socket.close()  // a receive waiting on another thread returns
    }
}
