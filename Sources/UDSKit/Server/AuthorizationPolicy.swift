#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
public struct AuthorizationPolicy: Sendable {
    /// Admits the user the server runs as (its effective user ID when it started).
    public var allowsServerUser: Bool
    /// Admits these user IDs.
    public var userIDs: Set<UInt32>
    /// Admits peers whose (effective) group ID is one of these.
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
    public func admits(_ peer: PeerCredentials, serverUserID: UInt32) -> Bool {
        allowsAnyone || (allowsServerUser && peer.userID == serverUserID) || userIDs.contains(peer.userID)
            || groupIDs.contains(peer.groupID) || (allowsRoot && peer.userID == 0) || custom?(peer) == true
    }

    /// The effective user ID of this process.
    static var processUserID: UInt32 { UInt32(geteuid()) }
}
