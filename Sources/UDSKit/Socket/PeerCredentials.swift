import CUDSKit
import SystemPackage

/// Who is on the other end of a connection, as the kernel says: process ID, user ID and group ID.
///
/// Read once, when the connection is made (`SO_PEERCRED` on Linux; `getpeereid` on Darwin, where the process ID is
/// not known and is -1). The user and group IDs are an identity the kernel vouches for. A process ID is only an
/// observation: the process may have exited since, and its number may belong to another process by the time you
/// look it up.
public struct PeerCredentials: Hashable, Sendable, CustomStringConvertible {
    /// The process ID of the peer when it connected, or -1 where the platform does not tell.
    public var processID: Int32
    /// The peer's effective user ID.
    public var userID: UInt32
    /// The peer's effective group ID.
    public var groupID: UInt32

    public init(processID: Int32, userID: UInt32, groupID: UInt32) {
        self.processID = processID
        self.userID = userID
        self.groupID = groupID
    }

    /// The credentials of the peer of the connected socket `descriptor`.
    static func of(descriptor: CInt) throws(Errno) -> PeerCredentials {
        var pid: Int32 = -1
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        _ = try retryingInterrupts { cudskit_peer_credentials(descriptor, &pid, &uid, &gid) }
        return PeerCredentials(processID: pid, userID: uid, groupID: gid)
    }

    public var description: String { "pid \(processID), uid \(userID), gid \(groupID)" }

    /// A pidfd for the peer process of `descriptor` (`SO_PEERPIDFD`, Linux 6.5 and later), or `nil` where the
    /// kernel offers none.
    static func processDescriptor(of descriptor: CInt) -> ReceivedDescriptor? {
        let pidfd = cudskit_peer_pidfd(descriptor)
        return pidfd >= 0 ? ReceivedDescriptor(pidfd) : nil
    }
}
