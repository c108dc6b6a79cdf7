import ArgumentParser
import SystemPackage
import UDSKit

/// Who may reach `uds serve`: the socket file's mode and group, and the authorization policy.
struct ServeAccess: ParsableArguments {
    @Option(help: ArgumentHelp("Permissions of the socket file, in octal.", valueName: "octal"))
    var mode: String = "0600"

    @Option(
        help: ArgumentHelp(
            "Group of the socket file (a name or a number), so that with --mode 0660 its members may connect.",
            valueName: "group"))
    var group: String?

    @Option(
        name: [.customLong("allow-uid"), .customLong("allow-user")],
        help: ArgumentHelp(
            "Also admit this user, a name or an ID (repeatable). By default only the server's own user is admitted.",
            valueName: "user"))
    var allowUid: [String] = []

    @Option(
        name: [.customLong("allow-gid"), .customLong("allow-group")],
        help: ArgumentHelp(
            "Also admit members of this group, a name or an ID (repeatable).",
            discussion:
                "Supplementary members count on connections (SO_PEERGROUPS); a --datagram sender is matched on its primary group only, since a datagram carries no group list.",
            valueName: "group"))
    var allowGid: [String] = []

    @Flag(
        help:
            "Admit every peer that can reach the socket; the file's mode is then the only gate. On an abstract name (@name) there is no file, so anyone in the network namespace can connect: uds warns."
    )
    var allowAny = false

    func validate() throws {
        guard permissions != nil else { throw ValidationError("--mode must be octal permissions such as 0600 or 0660") }
    }

    /// `--mode` as permissions; `nil` when it is not octal permissions.
    var permissions: FilePermissions? {
        guard let bits = UInt16(mode, radix: 8), bits <= 0o777 else { return nil }
        return FilePermissions(rawValue: CModeT(bits))
    }

    /// The group ID `--group` names, if given.
    func groupID() throws(CommandLineFailure) -> UInt32? {
        try group.map { name throws(CommandLineFailure) in try AccountNames.groupID(name, option: "--group") }
    }

    /// The policy `--allow-any`, `--allow-user` and `--allow-group` make.
    func authorization() throws(CommandLineFailure) -> AuthorizationPolicy {
        if allowAny { return .anyone }
        let userIDs = try allowUid.map { name throws(CommandLineFailure) in
            try AccountNames.userID(name, option: "--allow-user")
        }
        let groupIDs = try allowGid.map { name throws(CommandLineFailure) in
            try AccountNames.groupID(name, option: "--allow-group")
        }
        return AuthorizationPolicy.sameUser.allowing(userIDs: userIDs).allowing(groupIDs: groupIDs)
    }
}

/// How much `uds serve` takes and for how long.
struct ServeLimits: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Largest message accepted (64MiB, 1G, 4096…); with --framed or --seqpacket, largest frame or packet (default 16MiB); with --datagram, largest datagram (default 64KiB).",
            valueName: "size"))
    var maxSize: ByteCount?

    @Option(help: ArgumentHelp("Connections open at once; past it new clients wait.", valueName: "count"))
    var maxConnections: Int = 16_384

    @Option(
        help: ArgumentHelp(
            "Seconds a client may send nothing while its message (or frame) is unfinished; 0 for no limit.",
            valueName: "seconds"))
    var idleTimeout: Duration = .seconds(30)

    @Option(
        help: ArgumentHelp("Seconds a client may take to send a whole message; 0 for no limit.", valueName: "seconds"))
    var deadline: Duration = .seconds(600)

    @Option(help: ArgumentHelp("Seconds that messages in flight get to finish at shutdown.", valueName: "seconds"))
    var grace: Duration = .seconds(10)

    func validate() throws {
        if let maxSize, maxSize.value <= 0 { throw ValidationError("--max-size must be positive") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive") }
    }

    /// Sets the server's limits as these options say; `printsMessages` keeps the limit a printing server had.
    func apply(to configuration: inout MessageServer.Configuration, printsMessages: Bool) {
        if let maxSize {
            configuration.maximumMessageSize = maxSize.value
            configuration.maximumStreamedMessageSize = maxSize.value
            configuration.maximumFrameSize = maxSize.value
        } else if printsMessages {
            // Printed messages stream now, but keep the limit they had when they were buffered.
            configuration.maximumStreamedMessageSize = configuration.maximumMessageSize
        }
        configuration.maximumConnections = maxConnections
        configuration.shutdownGracePeriod = grace
        configuration.idleTimeout = idleTimeout > .zero ? idleTimeout : nil
        configuration.messageDeadline = deadline > .zero ? deadline : nil
    }
}
