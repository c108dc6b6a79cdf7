public import SystemPackage

extension MessageServer {
    /// How a ``MessageServer`` listens and what it allows. Every limit has a safe default.
    public struct Configuration: Sendable {
        /// Permissions of the socket file. Default `0600`: only the owning user may connect. On Linux the socket gets
        /// them before `bind`, so the file never appears with a wider mode, whatever the umask.
        public var socketPermissions: FilePermissions = [.ownerRead, .ownerWrite]
        /// The kind of socket the server listens on. Default ``UnixSocketType/stream``: a ``MessageHandler`` reads one
        /// message per connection, a ``FramedHandler`` reads frames (``framing``). With ``UnixSocketType/seqPacket``
        /// (`SOCK_SEQPACKET`, Go's `"unixpacket"`) a ``FramedHandler`` gets each packet as one message and each reply
        /// goes back as one packet, with no length prefix; a seqpacket server takes only a ``FramedHandler``. For
        /// ``UnixSocketType/datagram`` use ``DatagramServer``. ``MessageServer/start()`` throws
        /// ``UnixSocketError/Code/unsupported`` for a type the handler cannot serve.
        ///
        /// On seqpacket the kernel keeps message boundaries, so a peer in any language reads with one `recv`. A packet
        /// may be as long as the client's socket send buffer allows (about 208 KiB by default on Linux), up to
        /// ``maximumFrameSize`` and ``maximumReadSize``; a longer one closes that connection with a log line. An empty
        /// packet cannot be told from the end of the connection, so it ends it: do not send empty messages.
        public var socketType: UnixSocketType = .stream
        /// Group of the socket file, as a group ID; `nil`, the default, keeps the group the file was created with.
        /// With permissions `0660`, members of the group may connect (as with `docker.sock`).
        public var socketGroupID: UInt32? = nil
        /// Who may talk to the server, checked from the peer's credentials before a byte is read. Default
        /// ``AuthorizationPolicy/sameUser``.
        public var authorization: AuthorizationPolicy = .sameUser
        /// Take the listening socket from systemd socket activation instead of binding one: the socket whose
        /// `FileDescriptorName=` is this name, or with an empty name the first one passed. Default `nil`: bind
        /// ``MessageServer/address``. systemd owns that socket file; the server never removes it.
        public var systemdSocketName: String? = nil
        /// Zero-downtime restart. When set, ``MessageServer/start()`` first asks a server already running on the
        /// same path for its listening socket (over the handover socket `PATH.handover`); that server hands it over,
        /// drains its connections and stops without removing the socket file, and no client sees a refused
        /// connection. With nobody to take over from, the server binds as usual. Either way it then offers its own
        /// socket to the next successor at `PATH.handover` (mode 0600, same authorization policy). Default `false`.
        ///
        /// The predecessor stops accepting before it hands the socket over, and then lets its own connections end
        /// as they would have without the restart (their reply, ``idleTimeout``, ``messageDeadline``), not at the
        /// ``shutdownGracePeriod``: a client that connected just before the handover and writes after it is still
        /// served. A shutdown asked for during that drain (SIGTERM, ``MessageServer/shutdown()``) starts the grace
        /// period.
        public var handsOver = false
        /// Whether to listen on an abstract name (`@name`) with ``AuthorizationPolicy/anyone``. Abstract sockets have
        /// no file permissions, so that would admit every process in the network namespace; default `false`, and
        /// ``MessageServer/start()`` refuses. When set, ``MessageServer/start()`` logs a `warning` that names the
        /// socket and says that anyone in the network namespace can connect.
        public var allowsUnprotectedAbstractSocket = false
        /// Connections open at once. Default 16,384; at the limit the server stops accepting until one closes (new
        /// clients wait in the backlog), so it degrades by waiting, not by failing.
        public var maximumConnections: Int = 16_384
        /// How long a client may send nothing while the server waits for (the rest of) its message or frame.
        /// Default 30 seconds; past it the client gets an error reply and is closed. An idle persistent connection
        /// between frames is not affected.
        public var idleTimeout: Duration? = .seconds(30)
        /// How long a client may take to send a whole message, from connect to end of stream. Default 10 minutes;
        /// past it the client gets an error reply and is closed.
        public var messageDeadline: Duration? = .seconds(600)
        /// Largest message a ``MessageHandler/buffered(_:)`` handler accepts. Default 64 MiB; past it the client gets
        /// an error reply, the connection is closed and one line is logged.
        public var maximumMessageSize: Int = 64 * 1024 * 1024
        /// Largest message the streaming handlers (``MessageHandler/acknowledge``, ``MessageHandler/echo``,
        /// ``MessageHandler/discard``, ``MessageHandler/streaming(_:)``) accept. Default `nil`: no limit, since they
        /// need no memory in proportion to the message. Past it the client gets an error reply.
        public var maximumStreamedMessageSize: Int? = nil
        /// Descriptors a client may pass with one message (`SCM_RIGHTS`). Default 16; more are closed, with a log
        /// line. Only ``MessageHandler/buffered(_:)`` handlers get them (``MessageContext/descriptors``); for the
        /// others any that arrive are closed and logged, never silently dropped.
        public var maximumDescriptorsPerMessage: Int = 16
        /// Largest frame payload a framed server accepts. Default 16 MiB; a longer length field closes that
        /// connection, with a log line naming the peer.
        public var maximumFrameSize: Int = 16 * 1024 * 1024
        /// How a framed server's stream connections mark out messages. Default ``Framing/lengthPrefixed``;
        /// ``Framing/delimited(_:)`` for protocols such as varlink. Seqpacket servers (``socketType``) need neither and
        /// ignore it.
        public var framing: Framing = .lengthPrefixed
        /// Whether a ``FramedHandler/connection(_:)`` or ``FramedHandler/requests(_:)`` handler's task runs on the
        /// event loop of its connection (as a task executor preference) instead of Swift's global pool. Default
        /// `false`. With `true` a request and its reply cost no thread wake-up, but a handler that blocks stalls
        /// every connection of its loop.
        public var runsHandlersOnEventLoop = false
        /// Bytes a framed connection queues for a client that is not reading. Default 1 MiB; past it the server
        /// stops reading from that client, and ``FramedServerConnection/send(_:)`` waits.
        public var maximumOutboundBytes: Int = 1024 * 1024
        /// Connections waiting in the kernel to be accepted (`listen(2)`'s backlog). Default 4096 (Linux caps it at
        /// `net.core.somaxconn`). Past it a client's connect waits, or fails with `EAGAIN` if it does not block.
        public var backlog: Int32 = 4096
        /// How long a graceful shutdown lets messages in flight finish before it closes their connections.
        /// Default 10 seconds. After a handover (``handsOver``) it applies only once a shutdown is asked for.
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

extension MessageServer.Configuration {
    /// Why `wireProtocol` cannot be served on ``socketType``, or `nil` when it can.
    func unsupportedSocketTypeReason(for wireProtocol: ServerCore.WireProtocol) -> String? {
        switch (wireProtocol, socketType) {
        case (_, .stream), (.seqPacket, .seqPacket): return nil
        case (_, .datagram):
            return "a MessageServer listens on stream or seqpacket sockets; use DatagramServer for datagrams"
        case (.endOfStream, .seqPacket):
            return "a MessageHandler reads one message per stream connection; a seqpacket server takes a FramedHandler"
        default: return "a MessageServer cannot listen on a \(socketType) socket"
        }
    }

    /// How often the event loops check timeouts: a quarter of the shortest, between 50 ms and 1 s; `nil` if none.
    var tickInterval: Duration? {
        guard let shortest = [idleTimeout, messageDeadline].compactMap({ $0 }).min() else { return nil }
        return min(max(shortest / 4, .milliseconds(50)), .seconds(1))
    }
}
