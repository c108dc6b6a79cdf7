import CUDSKit
import SystemPackage

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's identity and environment, for the code above the syscall layer (authorization, socket activation).
extension Syscall {
    /// This process's ID.
    static var processID: Int32 { getpid() }

    /// The user this process runs as (its effective user ID).
    static var effectiveUserID: UInt32 { UInt32(geteuid()) }

    /// The value of the environment variable `name`, if set.
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Removes the environment variable `name`, so that child processes do not inherit it.
    static func removeEnvironment(_ name: String) {
        _ = unsetenv(name)
    }

    /// Marks `fd` close-on-exec, so that child processes do not inherit it.
    static func setCloseOnExec(_ fd: CInt) {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// Whether `fd` is a socket that listens (`SO_ACCEPTCONN`).
    static func isListening(_ fd: CInt) -> Bool {
        var accepting: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 else { return false }
        return accepting != 0
    }

    /// The inode number of a pidfd for this process, or `nil` where the kernel cannot open one (no `pidfd_open`).
    static func ownPidfdInode() -> UInt64? {
        var inode: UInt64 = 0
        return cudskit_own_pidfd_inode(&inode) == 0 ? inode : nil
    }
}
