import SystemPackage

/// An error from a Unix-domain-socket operation: what failed, on which socket, and why.
///
/// Switch on ``code`` to react to a kind of failure; print the error (its `description`) to tell a person.
///
/// ```swift
/// do {
///     try await client.deliver("hello")
/// } catch let error as UnixSocketError where error.code == .staleSocketFile {
///     // the server is gone; start it
/// }
/// ```
public struct UnixSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure. Minor releases may add kinds, so a `switch` over it needs a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case invalidAddress, pathTooLong, unsupported
            case noSocketFile, staleSocketFile, notASocket, wrongSocketType, serverAlreadyListening, permissionDenied
            case timedOut, connectionClosed
            case messageTooLarge, invalidMessage, replyTooLarge, notAcknowledged, serverError
            case notActivated, invalidState
            case system
        }
        private let kind: Kind

        /// The address is malformed (empty, or holds a NUL byte).
        public static let invalidAddress = Code(kind: .invalidAddress)
        /// The path is longer than `sun_path` holds (107 bytes on Linux, 103 on Darwin).
        public static let pathTooLong = Code(kind: .pathTooLong)
        /// The platform cannot do this (for example an abstract `@name` outside Linux).
        public static let unsupported = Code(kind: .unsupported)
        /// Nothing exists at the path: no server has ever listened there, or it removed its file.
        public static let noSocketFile = Code(kind: .noSocketFile)
        /// A socket file exists but no server accepts on it (`ECONNREFUSED`): its server is gone.
        public static let staleSocketFile = Code(kind: .staleSocketFile)
        /// The path holds something other than a socket (regular file, directory, symbolic link); it was left alone.
        public static let notASocket = Code(kind: .notASocket)
        /// The socket at the path is of another type (stream, seqpacket or datagram) than the one asked for
        /// (`EPROTOTYPE`).
        public static let wrongSocketType = Code(kind: .wrongSocketType)
        /// A live server answers on the path; the socket file was left alone.
        public static let serverAlreadyListening = Code(kind: .serverAlreadyListening)
        /// The file system refused access to the socket or its directory (`EACCES`, `EPERM`).
        public static let permissionDenied = Code(kind: .permissionDenied)
        /// The operation did not finish within its time limit (connect, read or write).
        public static let timedOut = Code(kind: .timedOut)
        /// The peer closed the connection before the exchange finished (`EPIPE`, `ECONNRESET`).
        public static let connectionClosed = Code(kind: .connectionClosed)
        /// The message is larger than the limit the receiver set.
        public static let messageTooLarge = Code(kind: .messageTooLarge)
        /// The message cannot be sent as it is (for example an empty seqpacket message, which the reader would take
        /// for the end of the connection).
        public static let invalidMessage = Code(kind: .invalidMessage)
        /// The reply is larger than the client's ``MessageClient/Configuration/maximumReplySize``.
        public static let replyTooLarge = Code(kind: .replyTooLarge)
        /// The server's acknowledgement does not match what was sent: the message must be considered lost.
        public static let notAcknowledged = Code(kind: .notAcknowledged)
        /// The server answered with an error reply (`error: …`).
        public static let serverError = Code(kind: .serverError)
        /// The process was to take its listening socket from systemd (socket activation) but none is there for it:
        /// `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES` or `LISTEN_PIDFDID` say otherwise.
        public static let notActivated = Code(kind: .notActivated)
        /// The object cannot do this now (a server started twice).
        public static let invalidState = Code(kind: .invalidState)
        /// Any other failure of a system call; see ``UnixSocketError/systemError``.
        public static let system = Code(kind: .system)

        public var description: String { kind.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// The operation that failed: ``Operation/connect``, ``Operation/bind``, ``Operation/write``, ….
    public var operation: Operation
    /// The socket the operation was on (a path, or `@name` for an abstract address), if any.
    public var socket: String?
    /// What the kernel said, when a system call failed.
    public var systemError: Errno?
    /// Further detail for a person: the limit that was crossed, what the server said.
    public var detail: String?

    public init(
        _ code: Code,
        operation: Operation,
        socket: String? = nil,
        systemError: Errno? = nil,
        detail: String? = nil
    ) {
        self.code = code
        self.operation = operation
        self.socket = socket
        self.systemError = systemError
        self.detail = detail
    }

    /// One line for a person, naming the socket, e.g. `no server is listening on /tmp/app.sock (stale socket file)`.
    public var description: String {
        let on = socket.map { " \($0)" } ?? ""
        let what: String
        switch code {
        case .noSocketFile: what = "no server is listening on\(on) (no socket file)"
        case .staleSocketFile: what = "no server is listening on\(on) (stale socket file)"
        case .notASocket: what = "\(on.isEmpty ? "the path" : String(on.dropFirst())) is not a socket"
        case .wrongSocketType: what = "wrong socket type at\(on)"
        case .serverAlreadyListening: what = "a server is already listening on\(on)"
        case .permissionDenied: what = "permission denied on\(on)"
        case .pathTooLong: what = "socket path is too long:\(on)"
        case .invalidAddress: what = "invalid socket address\(on.isEmpty ? "" : ":\(on)")"
        case .unsupported: what = "not supported on this system:\(on)"
        case .timedOut: what = "\(operation) timed out on\(on)"
        case .connectionClosed: what = "connection closed by the peer during \(operation) on\(on)"
        case .messageTooLarge: what = "message too large for\(on)"
        case .invalidMessage: what = "cannot send this message to\(on)"
        case .replyTooLarge: what = "reply from\(on) is too large"
        case .notAcknowledged: what = "message to\(on) was not acknowledged"
        case .serverError: what = "server on\(on) replied with an error"
        case .notActivated: what = "no socket from systemd for\(on)"
        case .invalidState: what = "cannot \(operation)\(on)"
        default:
            what = "\(operation)\(on)"
        }
        var parts = what
        if let detail { parts += ": \(detail)" }
        if let systemError, code == .system { parts += " (\(operation): \(systemError))" }
        return parts
    }
}

extension UnixSocketError {
    /// Maps an `Errno` from a system call on `socket` to the most specific code.
    static func from(_ errno: Errno, operation: Operation, socket: String?) -> UnixSocketError {
        let code: Code
        switch errno {
        case .permissionDenied, .notPermitted: code = .permissionDenied
        // Only where a socket file is looked up: elsewhere (chmod, open, bind into a missing directory) ENOENT is
        // no statement about a server.
        case .noSuchFileOrDirectory: code = operation == .connect || operation == .send ? .noSocketFile : .system
        case .connectionRefused: code = .staleSocketFile
        case .brokenPipe, .connectionReset: code = .connectionClosed
        case .fileNameTooLong: code = .pathTooLong
        default: code = .system
        }
        return UnixSocketError(code, operation: operation, socket: socket, systemError: errno)
    }
}
