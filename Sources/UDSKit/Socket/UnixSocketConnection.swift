import Synchronization
import SystemPackage

/// A connected Unix-domain stream socket with blocking reads and writes: the client side's building block.
///
/// Most callers want ``MessageClient``, which runs an exchange off the caller's thread. Use this type directly on a
/// thread of your own, where blocking is what you want (command-line tools, load generators).
///
/// Writes complete partial writes and retry `EINTR`, and never raise `SIGPIPE`. The connection closes itself when it
/// is released; ``close()`` closes it earlier. Reads and writes may run on two threads at once; two concurrent
/// writes may interleave.
///
/// ```swift
/// let connection = try UnixSocketConnection.connect(to: UnixSocketAddress("/tmp/app.sock"))
/// try connection.write(Array("hello".utf8))
/// try connection.closeWrite()
/// let reply = try connection.readToEnd(maximumSize: 1 << 20)
/// ```
public final class UnixSocketConnection: Sendable {
    /// The address this connection was made to.
    public let address: UnixSocketAddress
    private let socket: OwnedSocket
    private var descriptor: CInt { socket.descriptor }
    private let discarded = Atomic<Int>(0)

    private init(descriptor: CInt, address: UnixSocketAddress) {
        self.socket = OwnedSocket(descriptor, name: address.description)
        self.address = address
    }

    /// Connects to the server at `address`.
    ///
    /// - Parameters:
    ///   - address: The server's socket.
    ///   - timeout: How long to wait while the server's backlog is full. `nil`, the default, waits as long as it
    ///     takes.
    /// - Throws: ``UnixSocketError``: ``UnixSocketError/Code/noSocketFile`` when nothing is at the path,
    ///   ``UnixSocketError/Code/staleSocketFile`` when the socket file has no server,
    ///   ``UnixSocketError/Code/notASocket``, ``UnixSocketError/Code/permissionDenied``,
    ///   ``UnixSocketError/Code/timedOut``.
    public static func connect(to address: UnixSocketAddress, timeout: Duration? = nil) throws
        -> UnixSocketConnection
    {
        UnixSocketConnection(descriptor: try connectedDescriptor(to: address, timeout: timeout), address: address)
    }

    /// A blocking socket of `type` connected to `address`, for whoever takes ownership of it.
    static func connectedDescriptor(
        to address: UnixSocketAddress, timeout: Duration?, type: UnixSocketType = .stream
    ) throws(UnixSocketError) -> CInt {
        let fd: CInt
        do {
            fd = try Syscall.makeSocket(type)
        } catch {
            throw UnixSocketError.from(error, operation: .socket, socket: address.description)
        }
        do {
            // On Linux a blocking connect waits while the backlog is full, for at most SO_SNDTIMEO.
            if let timeout { try Syscall.setTimeout(fd, option: Syscall.sendTimeoutOption, timeout) }
            try Syscall.connect(fd, to: address)
            if timeout != nil { try Syscall.setTimeout(fd, option: Syscall.sendTimeoutOption, nil) }
        } catch {
            Syscall.close(fd)
            throw connectError(error, address: address, type: type)
        }
        return fd
    }

    static func connectError(_ error: Errno, address: UnixSocketAddress, type: UnixSocketType)
        -> UnixSocketError
    {
        switch error {
        case .protocolWrongTypeForSocket:
            return UnixSocketError(
                .wrongSocketType, operation: .connect, socket: address.description, systemError: error,
                detail: "the socket there is not a \(type) socket")
        case .resourceTemporarilyUnavailable, .nowInProgress:
            return UnixSocketError(
                .timedOut, operation: .connect, socket: address.description, systemError: error,
                detail: "the server's backlog stayed full")
        case .connectionRefused:
            // Linux answers ECONNREFUSED for a regular file too: say which it is.
            if let path = address.path, let status = try? Syscall.fileStatus(path), status.kind != .socket {
                return UnixSocketError(
                    .notASocket, operation: .connect, socket: path, systemError: error,
                    detail: "it is a \(status.kind.rawValue)")
            }
            return UnixSocketError.from(error, operation: .connect, socket: address.description)
        default:
            return UnixSocketError.from(error, operation: .connect, socket: address.description)
        }
    }

    /// The server's process, user and group IDs, as the kernel reports them (`SO_PEERCRED`).
    public func peerCredentials() throws -> PeerCredentials {
        try socket.peerCredentials()
    }

    /// Sets how long a read may wait for data; `nil` waits forever. The corresponding option is `SO_RCVTIMEO`.
    public func setReadTimeout(_ timeout: Duration?) throws {
        try socket.setTimeout(option: Syscall.receiveTimeoutOption, timeout)
    }

    /// Sets how long a write may wait for the peer to make room; `nil` waits forever (`SO_SNDTIMEO`).
    public func setWriteTimeout(_ timeout: Duration?) throws {
        try socket.setTimeout(option: Syscall.sendTimeoutOption, timeout)
    }

    /// Writes every byte of `bytes`, waiting while the peer's buffer is full.
    ///
    /// - Throws: ``UnixSocketError/Code/connectionClosed`` when the peer has closed its side (`EPIPE`);
    ///   ``UnixSocketError/Code/timedOut`` past the write timeout.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try Syscall.sendAll(descriptor, bytes)
        } catch {
            throw failure(error, .write)
        }
    }

    /// Writes every byte of `bytes` while taking whatever the peer sends meanwhile into `reply`.
    ///
    /// A server that answers as it reads (an echo) stops reading when its answer is not taken; a client that only
    /// writes would then wait forever. This write never does: whenever the socket is full, it reads.
    ///
    /// - Throws: ``UnixSocketError/Code/replyTooLarge`` when `reply` would pass its limit; otherwise as the plain
    ///   `write`.
    public func write(_ bytes: UnsafeRawBufferPointer, collectingReplyInto reply: inout ReplyBuffer) throws {
        var offset = 0
        while offset < bytes.count {
            let readable: Bool
            do throws(Errno) {
                let written = try Syscall.sendAvailable(descriptor, UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                offset += written
                if offset == bytes.count || written > 0 { continue }
                readable = try Syscall.waitReady(descriptor, readable: !reply.isComplete, writable: true).readable
            } catch {
                throw failure(error, .write)
            }
            if readable { try reply.read(from: self) }
        }
    }

    /// Writes every byte of `bytes`, passing `descriptors` (open files, pipes, sockets) with the first of them
    /// (`SCM_RIGHTS`). The descriptors stay open here and are the caller's to close; the peer gets its own copies.
    ///
    /// - Throws: as ``write(_:)-(UnsafeRawBufferPointer)``; `bytes` must not be empty when passing descriptors.
    public func write(_ bytes: UnsafeRawBufferPointer, passing descriptors: [FileDescriptor]) throws {
        guard !descriptors.isEmpty else { return try write(bytes) }
        guard !bytes.isEmpty else {
            throw UnixSocketError(
                .invalidMessage, operation: .sendmsg, socket: address.description,
                detail: "descriptors travel with at least one byte")
        }
        let sent: Int
        do {
            sent = try Syscall.sendPassing(descriptor, bytes, descriptors: descriptors.map(\.rawValue), dontWait: false)
        } catch {
            throw failure(error, .sendmsg)
        }
        try write(UnsafeRawBufferPointer(rebasing: bytes[sent...]))
    }

    /// Reads what is available, up to `buffer.count` bytes, and takes the descriptors the peer passed with them
    /// (up to `limit`; more are closed, and so are any beyond it).
    ///
    /// - Returns: The number of bytes read; 0 at end of stream.
    public func read(
        into buffer: UnsafeMutableRawBufferPointer, descriptors: inout [ReceivedDescriptor], limit: Int = 16
    ) throws -> Int {
        var passed = Passed()
        defer { descriptors.append(contentsOf: passed.descriptors) }
        do throws(Errno) {
            // nil is EAGAIN, which a blocking socket returns when its read timeout runs out
            guard let count = try Syscall.receive(descriptor, into: buffer, passed: &passed, limit: limit) else {
                throw Errno.resourceTemporarilyUnavailable
            }
            return count
        } catch {
            throw failure(error, .receive)
        }
    }

    /// Writes every byte of `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Reads what is available, up to `buffer.count` bytes, waiting for at least one.
    ///
    /// Descriptors the peer passed with the bytes are closed and counted in ``discardedDescriptorCount``; use
    /// ``read(into:descriptors:limit:)`` to take them.
    ///
    /// - Returns: The number of bytes read; 0 when the peer has closed its side (end of stream).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var passed = Passed()
        do throws(Errno) {
            // nil is EAGAIN, which a blocking socket returns when its read timeout runs out
            guard let count = try Syscall.receive(descriptor, into: buffer, passed: &passed, limit: 0) else {
                throw Errno.resourceTemporarilyUnavailable
            }
            if passed.wasTruncated { discarded.add(1, ordering: .relaxed) }
            return count
        } catch {
            throw failure(error, .read)
        }
    }

    /// How many reads closed descriptors the peer passed, because they were plain reads.
    public var discardedDescriptorCount: Int { discarded.load(ordering: .relaxed) }

    /// Reads until the peer closes its side, and adds everything read to `reply`.
    public func readToEnd(into reply: inout ReplyBuffer) throws {
        while !reply.isComplete { try reply.read(from: self) }
    }

    /// Reads until the peer closes its side, and returns everything read.
    ///
    /// - Parameter maximumSize: The most bytes accepted; one more makes this throw
    ///   ``UnixSocketError/Code/replyTooLarge``.
    public func readToEnd(maximumSize: Int) throws -> [UInt8] {
        var reply = ReplyBuffer(maximumSize: maximumSize)
        try readToEnd(into: &reply)
        return reply.bytes
    }

    /// Half-closes the connection: the peer reads end of stream, and this side can still read its reply.
    /// The corresponding C call is `shutdown(fd, SHUT_WR)`.
    public func closeWrite() throws {
        try socket.closeWrite()
    }

    /// Closes the connection; a read waiting on another thread returns. Later calls do nothing.
    public func close() {
        socket.close()
    }

    private func failure(_ error: Errno, _ operation: UnixSocketError.Operation) -> UnixSocketError {
        if error == .resourceTemporarilyUnavailable {
            return UnixSocketError(.timedOut, operation: operation, socket: address.description, systemError: error)
        }
        return UnixSocketError.from(error, operation: operation, socket: address.description)
    }
}
