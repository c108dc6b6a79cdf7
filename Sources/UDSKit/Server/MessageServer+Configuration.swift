public import SystemPackage

extension MessageServer {
    /// How a ``MessageServer`` listens and what it allows. Every limit has a safe default.
    public struct Configuration: Sendable {
        /// Permissions of the socket file. Default `0600`: only the owning user may connect.
        public var socketPermissions: FilePermissions = [.ownerRead, .ownerWrite]
        /// Largest message a ``MessageHandler/buffered(_:)`` handler accepts. Default 64 MiB; past it the client gets
        /// an error reply, the connection is closed and one line is logged.
        public var maximumMessageSize: Int = 64 * 1024 * 1024
        /// Largest message the streaming handlers (``MessageHandler/acknowledge``, ``MessageHandler/echo``,
        /// ``MessageHandler/discard``, ``MessageHandler/streaming(_:)``) accept. Default `nil`: no limit, since they
        /// need no memory in proportion to the message. Past it the client gets an error reply.
        public var maximumStreamedMessageSize: Int? = nil
        /// Largest frame payload a framed server accepts. Default 16 MiB; a longer length field closes that
        /// connection, with a log line naming the peer.
        public var maximumFrameSize: Int = 16 * 1024 * 1024
        /// Bytes a framed connection queues for a client that is not reading. Default 1 MiB; past it the server
        /// stops reading from that client, and ``FramedServerConnection/send(_:)`` waits.
        public var maximumOutboundBytes: Int = 1024 * 1024
        /// Connections waiting in the kernel to be accepted (`listen(2)`'s backlog). Default 4096 (Linux caps it at
        /// `net.core.somaxconn`). Past it a client's connect waits, or fails with `EAGAIN` if it does not block.
        public var backlog: Int32 = 4096
        /// How long a graceful shutdown lets messages in flight finish before it closes their connections.
        /// Default 10 seconds.
        public var shutdownGracePeriod: Duration = .seconds(10)
        /// How long accepting pauses after the system refused a new connection for lack of resources (`EMFILE`,
        /// `ENFILE`, `ENOBUFS`, `ENOMEM`). Default 100 ms. The server never stops for these.
        public var acceptBackoff: Duration = .milliseconds(100)
        /// Bytes read from a socket at most at once. Default 256 KiB.
        public var maximumReadSize: Int = 256 * 1024
        /// Event-loop threads that run connections. Default `nil`: one per CPU this process may run on (its affinity
        /// mask, so a server pinned to one CPU runs one loop).
        public var eventLoopCount: Int? = nil

        public init() {}
    }
}
