import CUDSKit
import SystemPackage

/// Listening sockets handed over by systemd socket activation (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`), as
/// `sd_listen_fds(3)` describes: descriptors 3, 4, … belong to this process when `LISTEN_PID` is its pid and, when
/// systemd also sets `LISTEN_PIDFDID` (newer systemd, on kernels whose pidfds have unique inode numbers), when that
/// is the inode number of a pidfd for this process, so that a process that got a reused pid cannot take the sockets.
enum SystemdActivation {
    /// The first descriptor systemd passes.
    static let firstDescriptor: CInt = 3

    /// The listening socket systemd passed, the one named `name` if given (its `FileDescriptorName=`), else the
    /// first. Clears the variables, so that child processes do not take the sockets for theirs.
    static func takeListener(named name: String?) throws(UnixSocketError) -> CInt {
        guard let pid = Syscall.environment("LISTEN_PID").flatMap({ Int32($0) }), pid == Syscall.processID,
            let count = Syscall.environment("LISTEN_FDS").flatMap({ Int32($0) }), count > 0
        else {
            throw UnixSocketError(
                .notActivated, operation: .adopt, socket: name,
                detail:
                    "no socket passed by systemd socket activation (LISTEN_PID and LISTEN_FDS are not set for this process)"
            )
        }
        if let pidfdID = Syscall.environment("LISTEN_PIDFDID") {
            try checkPidfdID(pidfdID, name: name)
        }
        let names =
            Syscall.environment("LISTEN_FDNAMES").map {
                $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            } ?? []
        for variable in ["LISTEN_PID", "LISTEN_PIDFDID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            Syscall.removeEnvironment(variable)
        }
        var index: CInt = 0
        if let name {
            guard let position = names.firstIndex(of: name), position < count else {
                throw UnixSocketError(
                    .notActivated, operation: .adopt, socket: name,
                    detail: "systemd passed no socket named \(name) (names: \(names.joined(separator: ", ")))")
            }
            index = CInt(position)
        }
        let descriptor = firstDescriptor + index
        guard Syscall.isListening(descriptor) else {
            throw UnixSocketError(
                .notASocket, operation: .adopt, socket: name ?? "descriptor \(descriptor)",
                detail: "the descriptor systemd passed is not a listening stream socket")
        }
        Syscall.setCloseOnExec(descriptor)
        return descriptor
    }

    /// Refuses the sockets unless `LISTEN_PIDFDID` is the inode number of a pidfd for this process. Where this
    /// process cannot open a pidfd for itself (no `pidfd_open`), the `LISTEN_PID` check stands alone.
    private static func checkPidfdID(_ value: String, name: String?) throws(UnixSocketError) {
        guard let expected = UInt64(value) else {
            throw UnixSocketError(
                .notActivated, operation: .adopt, socket: name,
                detail: "LISTEN_PIDFDID is not a number: \(value)")
        }
        guard let inode = Syscall.ownPidfdInode() else { return }
        guard inode == expected else {
            throw UnixSocketError(
                .notActivated, operation: .adopt, socket: name,
                detail:
                    "the sockets systemd passed are not for this process: LISTEN_PIDFDID is \(expected), but this process's pidfd is \(inode)"
            )
        }
    }
}
