import CUDSKit
import SystemPackage

// The one file that calls the C library's socket and file functions. Each sits behind a small wrapper that
// retries EINTR, reads errno at once and throws it as swift-system's `Errno`.
#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#elseif canImport(Darwin)
    import Darwin
#else
    #error("UDSKit supports Linux and Darwin")
#endif

#if canImport(Darwin)
    private let sysSendFlags: CInt = 0  // SIGPIPE is suppressed per socket with SO_NOSIGPIPE
#else
    private let sysSendFlags = CInt(MSG_NOSIGNAL)
#endif
private let sysClose = close
private let sysShutdown = shutdown
private let sysListen = listen
private let sysBind = bind
private let sysConnect = connect
private let sysUnlink = unlink
private let sysChmod = chmod

/// Calls `body` again while it fails with EINTR, and turns -1 into the `Errno` that call set.
@inline(never)
func retryingInterrupts<Value: FixedWidthInteger>(_ body: () -> Value) throws(Errno) -> Value {
    while true {
        let value = body()
        if value != -1 { return value }
        let error = Errno(rawValue: errno)
        if error != .interrupted { throw error }
    }
}

/// Raw socket and file operations on plain descriptors. Callers own the descriptors.
enum Syscall {
    /// A new `AF_UNIX` stream socket, close-on-exec, with SIGPIPE suppressed where the platform needs a socket option.
    static func makeStreamSocket() throws(Errno) -> CInt {
        try makeSocket(.stream)
    }

    /// A new `AF_UNIX` socket of `type`, close-on-exec, with SIGPIPE suppressed where the platform needs a socket
    /// option.
    static func makeSocket(_ type: UnixSocketType, nonBlocking: Bool = false) throws(Errno) -> CInt {
        #if canImport(Darwin)
            let fd = try retryingInterrupts { socket(AF_UNIX, type.rawValue, 0) }
            var one: CInt = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<CInt>.size))
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if nonBlocking { try setNonBlocking(fd, true) }
        #else
            let flags = CInt(SOCK_CLOEXEC.rawValue) | (nonBlocking ? CInt(SOCK_NONBLOCK.rawValue) : 0)
            let fd = try retryingInterrupts { socket(AF_UNIX, type.rawValue | flags, 0) }
        #endif
        return fd
    }

    /// The type of the socket `fd` (`SO_TYPE`).
    static func socketType(_ fd: CInt) throws(Errno) -> UnixSocketType {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        _ = try retryingInterrupts { getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &length) }
        return UnixSocketType(rawValue: value)
    }

    /// Closes `fd`. Never retried: after EINTR the descriptor is already gone on Linux.
    static func close(_ fd: CInt) {
        _ = sysClose(fd)
    }

    static func bind(_ fd: CInt, to address: UnixSocketAddress) throws(Errno) {
        _ = try address.withSockAddr { (sa, len) throws(Errno) in
            try retryingInterrupts { sysBind(fd, sa, len) }
        }
    }

    static func connect(_ fd: CInt, to address: UnixSocketAddress) throws(Errno) {
        _ = try address.withSockAddr { (sa, len) throws(Errno) in
            try retryingInterrupts { sysConnect(fd, sa, len) }
        }
    }

    static func listen(_ fd: CInt, backlog: CInt) throws(Errno) {
        _ = try retryingInterrupts { sysListen(fd, backlog) }
    }

    static func shutdownWrite(_ fd: CInt) throws(Errno) {
        #if canImport(Darwin)
            let how = SHUT_WR
        #else
            let how = CInt(SHUT_WR)
        #endif
        _ = try retryingInterrupts { sysShutdown(fd, how) }
    }

    /// Writes every byte of `buffer`, resuming after partial writes and EINTR; never raises SIGPIPE.
    static func sendAll(_ fd: CInt, _ buffer: UnsafeRawBufferPointer) throws(Errno) {
        var offset = 0
        while offset < buffer.count {
            let written = try retryingInterrupts {
                send(fd, buffer.baseAddress! + offset, buffer.count - offset, sysSendFlags)
            }
            offset += written
        }
    }

    /// Waits until `fd` is readable or writable (as asked), forever; returns (readable, writable).
    static func waitReady(_ fd: CInt, readable: Bool, writable: Bool) throws(Errno) -> (readable: Bool, writable: Bool)
    {
        var entry = pollfd(fd: fd, events: Int16((readable ? POLLIN : 0) | (writable ? POLLOUT : 0)), revents: 0)
        _ = try retryingInterrupts { poll(&entry, 1, -1) }
        let hangUp = entry.revents & Int16(POLLHUP | POLLERR) != 0
        return (
            entry.revents & Int16(POLLIN) != 0 || (readable && hangUp),
            entry.revents & Int16(POLLOUT) != 0 || (writable && hangUp)
        )
    }

    /// Writes what fits now, without blocking a blocking socket: the byte count, 0 when the buffer is full.
    static func sendAvailable(_ fd: CInt, _ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        do {
            return try retryingInterrupts {
                send(fd, buffer.baseAddress, buffer.count, sysSendFlags | CInt(MSG_DONTWAIT))
            }
        } catch .resourceTemporarilyUnavailable {
            return 0
        }
    }

    static func setTimeout(_ fd: CInt, option: CInt, _ duration: Duration?) throws(Errno) {
        var value = timeval()
        if let duration {
            let (seconds, attoseconds) = duration.components
            value.tv_sec = .init(seconds)
            value.tv_usec = .init(attoseconds / 1_000_000_000_000)
            if value.tv_sec == 0 && value.tv_usec == 0 { value.tv_usec = 1 }  // zero would mean "no timeout"
        }
        _ = try retryingInterrupts {
            setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    static var sendTimeoutOption: CInt { SO_SNDTIMEO }
    static var receiveTimeoutOption: CInt { SO_RCVTIMEO }

    static func setNonBlocking(_ fd: CInt, _ nonBlocking: Bool) throws(Errno) {
        let flags = try retryingInterrupts { fcntl(fd, F_GETFL) }
        let wanted = nonBlocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags { _ = try retryingInterrupts { fcntl(fd, F_SETFL, wanted) } }
    }

    // MARK: Non-blocking I/O for the reactor

    /// Writes what fits without blocking: the byte count, or 0 when the buffer is full. Never raises SIGPIPE.
    static func sendNonBlocking(_ fd: CInt, _ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        do {
            return try retryingInterrupts { send(fd, buffer.baseAddress, buffer.count, sysSendFlags) }
        } catch .resourceTemporarilyUnavailable {
            return 0
        }
    }

    /// Sends what fits of `buffer` with `descriptors` attached (at least one byte goes with them). Blocks on a
    /// blocking socket unless `dontWait`; returns the bytes sent, 0 if the socket is full and `dontWait`.
    static func sendPassing(
        _ fd: CInt, _ buffer: UnsafeRawBufferPointer, descriptors: [CInt], dontWait: Bool
    ) throws(Errno) -> Int {
        do {
            return try retryingInterrupts {
                descriptors.withUnsafeBufferPointer { fds in
                    cudskit_send_with_descriptors(
                        fd, buffer.baseAddress, UInt(buffer.count), fds.baseAddress, CInt(fds.count), dontWait ? 1 : 0)
                }
            }
        } catch .resourceTemporarilyUnavailable {
            return 0
        }
    }

    /// Reads like `read`, and takes the descriptors that came with the bytes (close-on-exec): up to `limit` into
    /// `passed`, closing any more. `nil` when nothing is there yet (non-blocking sockets); 0 at end of stream.
    static func receive(
        _ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, passed: inout Passed, limit: Int
    ) throws(Errno) -> Int? {
        var count: CInt = 0
        var truncated: CInt = 0
        var failure: Errno?
        let received = withUnsafeTemporaryAllocation(of: CInt.self, capacity: max(1, limit)) { fds -> Int? in
            let result = cudskit_receive_with_descriptors(
                fd, buffer.baseAddress, UInt(buffer.count), fds.baseAddress, CInt(limit), &count, &truncated)
            if result < 0 {
                failure = Errno(rawValue: errno)
                return nil
            }
            for index in 0..<Int(count) { passed.descriptors.append(ReceivedDescriptor(fds[index])) }
            return result
        }
        if truncated != 0 { passed.wasTruncated = true }
        if let failure {
            if failure == .resourceTemporarilyUnavailable { return nil }
            throw failure
        }
        return received
    }

    /// Waits for and accepts a connection on a blocking listener.
    static func acceptBlocking(_ fd: CInt) throws(Errno) -> CInt {
        try retryingInterrupts { accept(fd, nil, nil) }
    }

    /// Shuts both directions down, which also ends an `accept` waiting on a listener in another thread.
    static func shutdownBoth(_ fd: CInt) {
        #if canImport(Darwin)
            _ = sysShutdown(fd, SHUT_RDWR)
        #else
            _ = sysShutdown(fd, CInt(SHUT_RDWR))
        #endif
    }

    /// Accepts a connection as a non-blocking, close-on-exec descriptor, or `nil` when none is waiting.
    static func acceptNonBlocking(_ fd: CInt) throws(Errno) -> CInt? {
        do {
            return try retryingInterrupts { cudskit_accept_nonblocking(fd) }
        } catch .resourceTemporarilyUnavailable {
            return nil
        }
    }

    // MARK: Files

    /// What `lstat` says about a path: its kind and identity. `nil` when nothing is there.
    static func fileStatus(_ path: String) throws(Errno) -> FileStatus? {
        var st = stat()
        do {
            _ = try retryingInterrupts { lstat(path, &st) }
        } catch .noSuchFileOrDirectory {
            return nil
        }
        return FileStatus(st)
    }

    static func fileStatus(descriptor fd: CInt) throws(Errno) -> FileStatus {
        var st = stat()
        _ = try retryingInterrupts { fstat(fd, &st) }
        return FileStatus(st)
    }

    static func unlink(_ path: String) throws(Errno) {
        _ = try retryingInterrupts { sysUnlink(path) }
    }

    /// Sets the group of the file at `path` (not following a symbolic link), keeping its owner.
    static func changeGroup(_ path: String, _ group: UInt32) throws(Errno) {
        _ = try retryingInterrupts { lchown(path, uid_t.max, gid_t(group)) }
    }

    static func chmod(_ path: String, _ permissions: FilePermissions) throws(Errno) {
        _ = try retryingInterrupts { sysChmod(path, mode_t(permissions.rawValue)) }
    }

    /// Opens (creating with mode 0600) a lock file, refusing to follow a symbolic link.
    static func openLockFile(_ path: String) throws(Errno) -> CInt {
        try retryingInterrupts { open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode_t(0o600)) }
    }

    /// Takes an exclusive `flock` on `fd`, waiting for it.
    static func lockExclusive(_ fd: CInt) throws(Errno) {
        _ = try retryingInterrupts { flock(fd, LOCK_EX) }
    }
}

/// The parts of `struct stat` UDSKit looks at.
struct FileStatus: Equatable, Sendable {
    enum Kind: String, Sendable {
        case socket, regularFile = "regular file", directory, symbolicLink = "symbolic link", other = "special file"
    }
    var kind: Kind
    var device: UInt64
    var inode: UInt64
    var permissions: FilePermissions
    var owner: UInt32

    init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFSOCK: kind = .socket
        case S_IFREG: kind = .regularFile
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        permissions = FilePermissions(rawValue: CModeT(st.st_mode & 0o7777))
        owner = UInt32(st.st_uid)
    }

    /// Whether both describe the same file (device and inode).
    func isSameFile(as other: FileStatus) -> Bool { device == other.device && inode == other.inode }
}

/// Whether the `count` bytes at `first` and `second` are equal (`memcmp`), for the package's load generator.
package func bytesEqual(_ first: UnsafeRawPointer, _ second: UnsafeRawPointer, count: Int) -> Bool {
    memcmp(first, second, count) == 0
}
