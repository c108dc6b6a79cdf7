import UDSKit

/// User and group names as `uds serve` takes them: a name from the system's user and group databases (`getpwnam`,
/// `getgrnam`, so NSS sources such as LDAP count too), or a number.
enum AccountNames {
    /// The user ID for `name`, a user name or a number; throws one line naming `option` for a name this system does
    /// not know.
    static func userID(_ name: String, option: String) throws(CommandLineFailure) -> UInt32 {
        if let number = UInt32(name) { return number }
        guard let id = Syscall.userID(named: name) else {
            throw CommandLineFailure("\(option): no user named \(name) on this system")
        }
        return id
    }

    /// The group ID for `name`, a group name or a number; throws one line naming `option` for a name this system
    /// does not know.
    static func groupID(_ name: String, option: String) throws(CommandLineFailure) -> UInt32 {
        if let number = UInt32(name) { return number }
        guard let id = Syscall.groupID(named: name) else {
            throw CommandLineFailure("\(option): no group named \(name) on this system")
        }
        return id
    }
}
