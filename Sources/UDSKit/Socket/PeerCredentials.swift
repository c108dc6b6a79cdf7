import CUDSKit
import SystemPackage

/// Who is on the other end of a connection, as the kernel says: process ID, user ID, group ID and, when asked for,
/// the supplementary groups.
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
    /// The peer's effective (primary) group ID.
    public var groupID: UInt32
    /// The peer's supplementary group IDs when they were read, else `nil`.
    ///
    /// A server reads them (`SO_PEERGROUPS` on Linux 4.13 and later, the group list of `LOCAL_PEERCRED` on Darwin,
    /// which holds at most 16) once per connection, and only when its ``AuthorizationPolicy`` has group rules or a
    /// custom rule, which then sees them; the handler's ``MessageContext/peer`` does not carry them. A datagram's
    /// sender never has them: `SCM_CREDENTIALS` carries the primary group only.
    public var supplementaryGroupIDs: [UInt32]?

    public init(processID: Int32, userID: UInt32, groupID: UInt32, supplementaryGroupIDs: [UInt32]? = nil) {
        self.processID = processID
        self.userID = userID
        self.groupID = groupID
        self.supplementaryGroupIDs = supplementaryGroupIDs
    }

    /// Whether the peer is in `group`: as its primary group, or as one of its supplementary groups when they were
    /// read.
    public func isMember(of group: UInt32) -> Bool {
        groupID == group || supplementaryGroupIDs?.contains(group) == true
    }

    /// The credentials of the peer of the connected socket `descriptor`, with its supplementary groups if
    /// `includingGroups`.
    static func of(descriptor: CInt, includingGroups: Bool = false) throws(Errno) -> PeerCredentials {
        var pid: Int32 = -1
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        _ = try retryingInterrupts { cudskit_peer_credentials(descriptor, &pid, &uid, &gid) }
        var credentials = PeerCredentials(processID: pid, userID: uid, groupID: gid)
        if includingGroups { credentials.supplementaryGroupIDs = try groups(of: descriptor) }
        return credentials
    }

    /// The peer's group list (`SO_PEERGROUPS`); asks again with more room when the peer has more than fit.
    private static func groups(of descriptor: CInt) throws(Errno) -> [UInt32] {
        var capacity = 32
        while true {
            var groups = [UInt32](repeating: 0, count: capacity)
            let count = try retryingInterrupts {
                groups.withUnsafeMutableBufferPointer { buffer in
                    cudskit_peer_groups(descriptor, buffer.baseAddress, CInt(capacity))
                }
            }
            if Int(count) <= capacity { return Array(groups.prefix(Int(count))) }
            capacity = Int(count)
        }
    }

    public var description: String {
        let groups = supplementaryGroupIDs.map { ", groups \($0.map(String.init).joined(separator: ","))" } ?? ""
        return "pid \(processID), uid \(userID), gid \(groupID)\(groups)"
    }

    /// A pidfd for the peer process of `descriptor` (`SO_PEERPIDFD`, Linux 6.5 and later), or `nil` where the
    /// kernel offers none.
    static func processDescriptor(of descriptor: CInt) -> ReceivedDescriptor? {
        let pidfd = cudskit_peer_pidfd(descriptor)
        return pidfd >= 0 ? ReceivedDescriptor(pidfd) : nil
    }
}
