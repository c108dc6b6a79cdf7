public import SystemPackage

extension DatagramServer {
    /// How a ``DatagramServer`` binds its socket and what it takes. Every limit has a safe default.
    public struct Configuration: Sendable {
        /// Permissions of the socket file. Default `0600`: only the owning user may send. The socket gets them before
        /// the first datagram can arrive.
        public var socketPermissions: FilePermissions = [.ownerRead, .ownerWrite]
        /// Group of the socket file, as a group ID; `nil`, the default, keeps the group the file was created with.
        /// With permissions `0660`, members of the group may send.
        public var socketGroupID: UInt32? = nil
        /// Whose datagrams the handler gets, checked from the credentials the kernel attaches to each datagram.
        /// Default ``AuthorizationPolicy/sameUser``. A datagram carries its sender's primary group only, so a group
        /// in the policy matches senders whose primary group it is. Others are dropped and counted.
        public var authorization: AuthorizationPolicy = .sameUser
        /// Whether to bind an abstract name (`@name`) with ``AuthorizationPolicy/anyone``, which admits every process
        /// in the network namespace. Default `false`, and ``DatagramServer/run()`` refuses; when set, it logs a
        /// `warning` naming the socket.
        public var allowsUnprotectedAbstractSocket = false
        /// Largest datagram accepted. Default 64 KiB; a longer one is dropped (the kernel has truncated it), logged,
        /// counted, and its sender, if it has an address, gets an error reply.
        public var maximumDatagramSize: Int = 64 * 1024
        /// Descriptors taken with one datagram (`SCM_RIGHTS`). Default 16; more are closed.
        public var maximumDescriptorsPerDatagram: Int = 16

        public init() {}
    }

    /// What a ``DatagramServer`` has done so far.
    public struct Statistics: Hashable, Sendable, CustomStringConvertible {
        /// Datagrams handed to the handler.
        public var datagrams: Int
        /// Datagrams dropped because the authorization policy did not admit their sender.
        public var refused: Int
        /// Datagrams dropped for being longer than ``Configuration/maximumDatagramSize``.
        public var tooLarge: Int
        /// Handler calls that threw.
        public var handlerErrors: Int

        public var description: String {
            "datagrams \(datagrams), refused \(refused) (authorization policy), too large \(tooLarge), "
                + "handler errors \(handlerErrors)"
        }
    }
}
