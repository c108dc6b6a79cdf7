import CUDSKit
import SystemPackage

/// The socket file a listener created: removed at shutdown only while it is still that file.
struct SocketFileOwnership: Sendable {
    let path: String
    let identity: FileStatus

    /// The socket file now at `path` (one whose listening socket this process took over), or `nil`.
    static func current(at path: String) -> SocketFileOwnership? {
        guard let status = try? Syscall.fileStatus(path), status.kind == .socket else { return nil }
        return SocketFileOwnership(path: path, identity: status)
    }

    /// Removes the socket file if the path still names the file this listener bound (same device and inode).
    /// A successor may have replaced it; then it is left alone. Returns whether the file was removed.
    @discardableResult
    func removeIfOurs() -> Bool {
        (try? SocketPathLock.withLock(for: path) { () throws(Errno) -> Bool in
            guard let now = try Syscall.fileStatus(path), now.isSameFile(as: identity) else { return false }
            try Syscall.unlink(path)
            return true
        }) ?? false
    }
}

/// A listening socket bound to an address, ready to hand to an event loop; or, of type datagram, a bound one.
struct ListeningSocket: Sendable {
    /// The listening descriptor; whoever takes it closes it.
    let descriptor: CInt
    /// The socket file, for a path address.
    let file: SocketFileOwnership?

    /// Binds and listens on `address`, replacing a stale socket file and never anything else.
    ///
    /// For a path: under an exclusive lock on a sidecar lock file (so that two servers starting at once do not both
    /// find the file stale), a socket file nobody answers on (`ECONNREFUSED`) is removed; a live one, or anything that
    /// is not a socket, makes this throw and is left alone.
    ///
    /// Then, on Linux, the socket's own inode gets the permissions before `bind` (`fchmod`), and `bind` creates the
    /// file with that mode less the umask's bits: the file never appears with a mode wider than `permissions`, for
    /// any socket type. While a `group` change is pending the group's bits are left out, so that the creator's group
    /// never has them either. `fchown` before `bind` does not carry over to the file on Linux (the file gets the
    /// creating process's group), so the group is set on the file after `bind`, and then the mode exactly as asked
    /// (restoring what the umask or the pending group took away), and only then `listen`: before `listen(2)` every
    /// connect is refused. Elsewhere (Darwin) the mode of a socket's inode does not carry over, so the file appears
    /// with the umask's mode and is narrowed after `bind`; that window is harmless for stream and seqpacket sockets
    /// (nobody can connect before `listen`), and covered by the authorization policy for datagrams.
    ///
    /// A datagram socket is bound and not listened on; it asks for each sender's credentials (`SO_PASSCRED`) before
    /// it is bound, so that no datagram arrives without them.
    static func bind(
        to address: UnixSocketAddress,
        permissions: FilePermissions,
        group: UInt32? = nil,
        backlog: Int32,
        type: UnixSocketType = .stream
    ) throws(UnixSocketError) -> ListeningSocket {
        func listen(_ fd: CInt) throws(Errno) {
            if type != .datagram { try Syscall.listen(fd, backlog: backlog) }
        }
        guard let path = address.path else {
            let fd = try openSocket(address, type: type)
            do {
                try Syscall.bind(fd, to: address)
                try listen(fd)
            } catch {
                Syscall.close(fd)
                throw bindError(error, address: address)
            }
            return ListeningSocket(descriptor: fd, file: nil)
        }
        do {
            return try SocketPathLock.withLock(for: path) { () throws(UnixSocketError) -> ListeningSocket in
                try removeIfStale(address)
                let fd = try openSocket(address, type: type)
                do throws(Errno) {
                    try Syscall.setModeBeforeBind(fd, group == nil ? permissions : permissions.withoutGroupBits)
                    try Syscall.bind(fd, to: address)
                } catch {
                    Syscall.close(fd)
                    throw bindError(error, address: address)
                }
                // Bound but not listening: every connect is refused until the file's group and mode are right.
                do {
                    let identity = try prepareFile(path, permissions: permissions, group: group)
                    try listen(fd)
                    return ListeningSocket(descriptor: fd, file: SocketFileOwnership(path: path, identity: identity))
                } catch {
                    _ = try? Syscall.unlink(path)
                    Syscall.close(fd)
                    throw UnixSocketError.wrapping(error, operation: .listen, socket: path)
                }
            }
        } catch {
            throw UnixSocketError.wrapping(error, operation: .lock, socket: path + SocketPathLock.suffix)
        }
    }

    /// Gives the freshly bound socket file its group and permissions; returns its identity.
    private static func prepareFile(_ path: String, permissions: FilePermissions, group: UInt32?) throws -> FileStatus {
        if let group {
            do {
                try Syscall.changeGroup(path, group)
            } catch {
                throw UnixSocketError(
                    error == .notPermitted ? .permissionDenied : .system, operation: .chown, socket: path,
                    systemError: error,
                    detail:
                        "cannot give the socket file to group \(group): a process may choose only a group it is in, unless it is root"
                )
            }
        }
        do throws(Errno) {
            try Syscall.chmod(path, permissions)
            guard let status = try Syscall.fileStatus(path) else { throw Errno.noSuchFileOrDirectory }
            return status
        } catch {
            throw UnixSocketError.from(error, operation: .chmod, socket: path)
        }
    }

    private static func openSocket(_ address: UnixSocketAddress, type: UnixSocketType) throws(UnixSocketError) -> CInt {
        do throws(Errno) {
            let fd = try Syscall.makeSocket(type)
            if type == .datagram {
                do { try Syscall.passCredentials(fd) } catch {
                    Syscall.close(fd)
                    throw error
                }
            }
            return fd
        } catch {
            throw UnixSocketError.from(error, operation: .socket, socket: address.description)
        }
    }

    private static func bindError(_ error: Errno, address: UnixSocketAddress) -> UnixSocketError {
        if error == .addressInUse {
            return UnixSocketError(
                .serverAlreadyListening, operation: .bind, socket: address.description, systemError: error)
        }
        return UnixSocketError.from(error, operation: .bind, socket: address.description)
    }

    /// Removes the file at `address` if it is a socket nobody answers on; throws if a server answers or it is not a
    /// socket. Call with the path's lock held.
    private static func removeIfStale(_ address: UnixSocketAddress) throws(UnixSocketError) {
        let path = address.path!
        let status: FileStatus?
        do {
            status = try Syscall.fileStatus(path)
        } catch {
            throw UnixSocketError.from(error, operation: .stat, socket: path)
        }
        guard let status else { return }
        guard status.kind == .socket else {
            throw UnixSocketError(
                .notASocket, operation: .bind, socket: path,
                detail: "it is a \(status.kind.rawValue); refusing to replace it")
        }
        switch SocketProbe.probe(address) {
        case .live:
            throw UnixSocketError(.serverAlreadyListening, operation: .bind, socket: path)
        case .stale:
            do {
                try Syscall.unlink(path)
            } catch {
                throw UnixSocketError.from(error, operation: .unlink, socket: path)
            }
        case .failed(let errno):
            throw UnixSocketError(
                errno == .permissionDenied ? .permissionDenied : .system, operation: .probe, socket: path,
                systemError: errno, detail: "cannot tell whether a server listens there; leaving the file alone")
        case .absent:
            return
        }
    }
}

/// What a connect attempt tells about a socket path.
enum SocketProbe: Equatable {
    /// A server accepted the connection, or its backlog is full (it is alive but busy).
    case live
    /// The socket file exists but nobody listens (`ECONNREFUSED`).
    case stale
    /// Nothing is at the path.
    case absent
    case failed(Errno)

    /// Connects without blocking and closes at once, sending nothing. A socket of another type than stream
    /// (`EPROTOTYPE`) is probed again as seqpacket, then as datagram: a bound datagram socket whose owner is gone
    /// refuses too.
    static func probe(_ address: UnixSocketAddress) -> SocketProbe {
        for type in [UnixSocketType.stream, .seqPacket, .datagram] {
            let result = probe(address, as: type)
            if result != SocketProbe.failed(Errno.protocolWrongTypeForSocket) { return result }
        }
        return .failed(.protocolWrongTypeForSocket)
    }

    private static func probe(_ address: UnixSocketAddress, as type: UnixSocketType) -> SocketProbe {
        let fd: CInt
        do { fd = try Syscall.makeSocket(type) } catch { return .failed(error) }
        defer { Syscall.close(fd) }
        do {
            try Syscall.setNonBlocking(fd, true)
            try Syscall.connect(fd, to: address)
            return .live
        } catch .resourceTemporarilyUnavailable, .nowInProgress {
            return .live
        } catch .connectionRefused {
            return .stale
        } catch .noSuchFileOrDirectory {
            return .absent
        } catch {
            return .failed(error)
        }
    }
}

/// Serializes the stale check, bind and removal of one socket path among processes, with `flock(2)` on a sidecar
/// file `PATH.lock`, removed again on the way out.
enum SocketPathLock {
    static let suffix = ".lock"

    static func withLock<Result, Failure: Error>(
        for path: String,
        _ body: () throws(Failure) -> Result
    ) throws -> Result {
        let lockPath = path + suffix
        while true {
            let fd = try Syscall.openLockFile(lockPath)
            do {
                try Syscall.lockExclusive(fd)
                // The holder before us may have removed the file after we opened it: then our lock guards nothing,
                // and we try again on the file now at the path.
                let held = try Syscall.fileStatus(descriptor: fd)
                guard let current = try Syscall.fileStatus(lockPath), current.isSameFile(as: held) else {
                    Syscall.close(fd)
                    continue
                }
            } catch {
                Syscall.close(fd)
                throw error
            }
            defer {
                _ = try? Syscall.unlink(lockPath)
                Syscall.close(fd)
            }
            return try body()
        }
    }
}

extension FilePermissions {
    /// These permissions without the group's read, write and execute bits.
    fileprivate var withoutGroupBits: FilePermissions {
        FilePermissions(rawValue: rawValue & ~CModeT(0o070))
    }
}

extension Syscall {
    /// Sets the mode of the not yet bound socket `fd`, which on Linux the file `bind` creates takes (less the
    /// umask). Does nothing elsewhere, where `bind` ignores it. The corresponding C function is `fchmod`.
    static func setModeBeforeBind(_ fd: CInt, _ permissions: FilePermissions) throws(Errno) {
        #if os(Linux)
            _ = try retryingInterrupts { cudskit_socket_fchmod(fd, UInt32(permissions.rawValue)) }
        #endif
    }
}
