extension UnixSocketError {
    /// What was being done when an error happened: a system call (`connect`, `bind`, `recvmsg`) or a step of
    /// UDSKit's own (`parse` an address, `adopt` a socket from systemd, `acknowledge`). One constant per verb, so that
    /// errors can be compared and every message names its step the same way.
    public struct Operation: Hashable, Sendable, CustomStringConvertible {
        /// The verb, as messages print it: `"connect"`.
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        // System calls.
        /// `socket(2)`.
        public static let socket = Operation("socket")
        /// `bind(2)`.
        public static let bind = Operation("bind")
        /// `listen(2)`.
        public static let listen = Operation("listen")
        /// `connect(2)`.
        public static let connect = Operation("connect")
        /// `read(2)`/`recv(2)` on a stream.
        public static let read = Operation("read")
        /// `write(2)`/`send(2)` on a stream.
        public static let write = Operation("write")
        /// `sendmsg(2)`, with descriptors.
        public static let sendmsg = Operation("sendmsg")
        /// Sending a packet or datagram.
        public static let send = Operation("send")
        /// Receiving a packet or datagram.
        public static let receive = Operation("receive")
        /// `shutdown(2)`.
        public static let shutdown = Operation("shutdown")
        /// `close(2)`.
        public static let close = Operation("close")
        /// `getsockopt(2)`.
        public static let getsockopt = Operation("getsockopt")
        /// `setsockopt(2)`.
        public static let setsockopt = Operation("setsockopt")
        /// `open(2)` of a file to send or to print to.
        public static let open = Operation("open")
        /// `stat(2)` of a path.
        public static let stat = Operation("stat")
        /// `unlink(2)` of a stale socket file.
        public static let unlink = Operation("unlink")
        /// `chmod(2)` of a socket file.
        public static let chmod = Operation("chmod")
        /// `chown(2)` of a socket file.
        public static let chown = Operation("chown")
        /// `flock(2)` of the lock file beside a socket path.
        public static let lock = Operation("lock")
        /// Creating an event loop (`epoll_create1`, or the poll selector's pipe).
        public static let epollCreate = Operation("epoll_create")
        /// Watching a descriptor on an event loop (`epoll_ctl`).
        public static let epollControl = Operation("epoll_ctl")

        // Steps of UDSKit's own.
        /// Parsing a socket address.
        public static let parse = Operation("parse")
        /// Starting a server.
        public static let start = Operation("start")
        /// Taking over a listening socket from systemd or a predecessor.
        public static let adopt = Operation("adopt")
        /// Taking over the listening socket of a running server (`--handover`).
        public static let takeOver = Operation("take over")
        /// Finding out what listens on a path.
        public static let probe = Operation("probe")
        /// A framed request that waits for its reply.
        public static let request = Operation("request")
        /// Checking a server's acknowledgement.
        public static let acknowledge = Operation("acknowledge")
        /// A server's reply.
        public static let reply = Operation("reply")
        /// Keeping a message for later (a printing server's spool).
        public static let spool = Operation("spool")
    }
}
