/// Who may talk to a server, decided from the peer's credentials before a byte of its message is read.
///
/// The default, ``sameUser``, admits only processes running as the server's own user. Add users, groups, root, or a
/// function of your own; a peer is admitted when any rule admits it. A refused peer is closed at once, logged with
/// its pid and uid, and counted in ``MessageServer/refusedConnectionCount``.
///
/// ```swift
/// configuration.authorization = .sameUser.allowing(userIDs: [1001]).allowing(groupIDs: [998])
/// ```
///
/// The socket file's permissions (``MessageServer/Configuration/socketPermissions``) are the first gate; this policy
/// is the second, and the only one for abstract sockets, which have no file.
///
/// A group rule (``groupIDs``) admits a connection's peer whose primary group or any supplementary group is one of
/// them, as file permissions, systemd's `SocketGroup=` and D-Bus policies do: the server reads the peer's group
/// list once per connection (`SO_PEERGROUPS`), and only when the policy has a group rule or a ``custom`` rule. A
/// datagram's sender carries no group list (`SCM_CREDENTIALS` holds one group ID), so for
/// ``DatagramSocket`` a group rule matches the sender's primary (effective) group only: a user who is in the group
/// only as a supplementary member is refused there. Admit such senders by user ID, or have them send with the group
/// as their primary one (`sg`, `newgrp`, a service's `Group=`).
public struct AuthorizationPolicy: Sendable {
    /// Admits the user the server runs as (its effective user ID when it started).
    public var allowsServerUser: Bool
    /// Admits these user IDs.
    public var userIDs: Set<UInt32>
    /// Admits peers in one of these groups: as their effective group, or (on connections) as a supplementary one.
    public var groupIDs: Set<UInt32>
    /// Admits root (user ID 0) even when the server runs as another user.
    public var allowsRoot: Bool
    /// Admits everyone: no check at all.
    public var allowsAnyone: Bool
    /// Admits whom this function admits.
    public var custom: (@Sendable (PeerCredentials) -> Bool)?

    /// Only the user the server runs as. The default.
    public static let sameUser = AuthorizationPolicy(
        allowsServerUser: true, userIDs: [], groupIDs: [], allowsRoot: false, allowsAnyone: false, custom: nil)
    /// Everyone who can reach the socket; the file's permissions are the only gate.
    public static let anyone = AuthorizationPolicy(
        allowsServerUser: true, userIDs: [], groupIDs: [], allowsRoot: true, allowsAnyone: true, custom: nil)
    /// Nobody but whom you add with the `allowing` methods.
    public static let nobody = AuthorizationPolicy(
        allowsServerUser: false, userIDs: [], groupIDs: [], allowsRoot: false, allowsAnyone: false, custom: nil)

    /// This policy, also admitting `userIDs`.
    public func allowing(userIDs: some Sequence<UInt32>) -> AuthorizationPolicy {
        var copy = self
        copy.userIDs.formUnion(userIDs)
        return copy
    }

    /// This policy, also admitting peers in `groupIDs`.
    public func allowing(groupIDs: some Sequence<UInt32>) -> AuthorizationPolicy {
        var copy = self
        copy.groupIDs.formUnion(groupIDs)
        return copy
    }

    /// This policy, also admitting root.
    public func allowingRoot() -> AuthorizationPolicy {
        var copy = self
        copy.allowsRoot = true
        return copy
    }

    /// This policy, also admitting whom `rule` admits.
    public func allowing(_ rule: @escaping @Sendable (PeerCredentials) -> Bool) -> AuthorizationPolicy {
        var copy = self
        let previous = copy.custom
        copy.custom = { peer in previous?(peer) == true || rule(peer) }
        return copy
    }

    /// Whether `peer` may talk to a server running as `serverUserID`.
    ///
    /// A group rule looks at ``PeerCredentials/groupID`` and, when they were read, at
    /// ``PeerCredentials/supplementaryGroupIDs``.
    public func admits(_ peer: PeerCredentials, serverUserID: UInt32) -> Bool {
        allowsAnyone || (allowsServerUser && peer.userID == serverUserID) || userIDs.contains(peer.userID)
            || admitsGroup(of: peer) || (allowsRoot && peer.userID == 0) || custom?(peer) == true
    }

    private func admitsGroup(of peer: PeerCredentials) -> Bool {
        guard !groupIDs.isEmpty else { return false }
        return groupIDs.contains(peer.groupID) || peer.supplementaryGroupIDs?.contains(where: groupIDs.contains) == true
    }

    /// Whether deciding needs the peer's supplementary groups: the policy has a group rule or a custom one.
    var needsPeerGroups: Bool { !allowsAnyone && (!groupIDs.isEmpty || custom != nil) }

    /// The effective user ID of this process.
    static var processUserID: UInt32 { Syscall.effectiveUserID }
}
