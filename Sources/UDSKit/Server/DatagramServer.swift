public import Logging
public import ServiceLifecycle
import Synchronization
import SystemPackage

/// A server on a Unix datagram socket (`SOCK_DGRAM`, Go's `"unixgram"`): each datagram is a message, and a sender
/// with an address gets the handler's reply as a datagram.
///
/// The socket file is handled as ``MessageServer`` handles its own: a stale one is replaced, a live socket or
/// anything that is not a socket is left alone, the file has ``Configuration/socketPermissions`` before the first
/// datagram arrives, and it is removed at the end if it is still this server's.
///
/// ```swift
/// let server = DatagramServer(address: try UnixSocketAddress("/run/app/events.sock")) { datagram in
///     Message("got \(datagram.message.count) bytes")   // nil sends nothing back
/// }
/// try await server.run()   // until task cancellation or a ServiceGroup's graceful shutdown
/// ```
///
/// Datagrams are handled one at a time, in the order they arrive. A handler that throws gets the sender an error
/// reply (`error: …`, see ``MessageRejection``); the server goes on. A sender whose socket is unbound (it has no
/// address) gets no reply. A shutdown stops receiving at once; a datagram being handled is finished and answered
/// first, then the socket is closed and its file removed.
public final class DatagramServer: Service, Sendable {
    /// What the server does with each datagram: the reply to send back, or `nil` for none.
    public typealias Handler = @Sendable (Datagram) async throws -> Message?

    /// The address this server receives on.
    public let address: UnixSocketAddress
    public let configuration: Configuration
    private let logger: Logger
    private let handler: Handler

    private enum Phase {
        case idle
        case starting(stopRequested: Bool)
        case receiving(DatagramSocket, handling: Bool)
        case stopping
        case stopped
    }
    private let phase = Locked(Phase.idle)
    private let counts = Counts()

    /// Creates a server; nothing happens until ``run()``.
    ///
    /// - Parameters:
    ///   - address: Where to bind: a path, or `@name` for a Linux abstract name.
    ///   - configuration: Permissions, authorization, limits.
    ///   - logger: Where the server logs: the start at `info`; dropped datagrams, failed handlers and replies that
    ///     could not be sent at `warning`. Default: a logger labelled `UDSKit.DatagramServer`.
    ///   - handler: What to do with each datagram.
    public init(
        address: UnixSocketAddress,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "UDSKit.DatagramServer"),
        handler: @escaping Handler
    ) {
        self.address = address
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "uds.socket"] = "\(address)"
        self.logger = logger
        self.handler = handler
    }

    /// Binds the socket and handles datagrams until the task is cancelled or a `ServiceGroup` shuts down gracefully
    /// (SIGTERM, SIGINT); then closes the socket, which removes its file, and returns.
    ///
    /// - Throws: ``UnixSocketError``: ``UnixSocketError/Code/serverAlreadyListening`` when a live socket is at the
    ///   path, ``UnixSocketError/Code/notASocket`` when something else is there (it is left alone),
    ///   ``UnixSocketError/Code/permissionDenied``, ``UnixSocketError/Code/invalidState`` when run twice; a
    ///   failure to receive.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await bindAndServe()
            } onCancel: {
                self.stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// What the server has done so far.
    public var statistics: Statistics {
        Statistics(
            datagrams: counts.datagrams.load(ordering: .relaxed), refused: counts.refused.load(ordering: .relaxed),
            tooLarge: counts.tooLarge.load(ordering: .relaxed),
            handlerErrors: counts.handlerErrors.load(ordering: .relaxed))
    }

    private func bindAndServe() async throws {
        let notIdle = phase.withLock { phase -> Bool in
            guard case .idle = phase else { return true }
            phase = .starting(stopRequested: false)
            return false
        }
        if notIdle {
            throw UnixSocketError(
                .invalidState, operation: .start, socket: "\(address)", detail: "the server was started already")
        }
        let socket: DatagramSocket
        do {
            socket = try DatagramSocket.bind(
                to: address, permissions: configuration.socketPermissions, groupID: configuration.socketGroupID,
                authorization: configuration.authorization,
                allowsUnprotectedAbstractSocket: configuration.allowsUnprotectedAbstractSocket)
        } catch {
            phase.withLock { $0 = .stopped }
            throw error
        }
        let stopRequested = phase.withLock { phase -> Bool in
            guard case .starting(let stopRequested) = phase, !stopRequested else { return true }
            phase = .receiving(socket, handling: false)
            return false
        }
        defer {
            counts.refused.store(socket.refusedCount, ordering: .relaxed)
            socket.close()
            phase.withLock { $0 = .stopped }
        }
        if stopRequested { return }
        logStart()
        try await serve(socket)
    }

    private func logStart() {
        let mode = "0" + String(configuration.socketPermissions.rawValue, radix: 8)
        logger.info("receiving datagrams on \(address)", metadata: address.isAbstract ? [:] : ["uds.mode": "\(mode)"])
        if address.isAbstract && configuration.authorization.allowsAnyone {
            logger.warning(
                "anyone in the network namespace can send to \(address): an abstract name has no file permissions, and the authorization policy admits anyone"
            )
        }
    }

    private func serve(_ socket: DatagramSocket) async throws {
        while true {
            let receipt: DatagramSocket.Receipt
            do {
                receipt = try await socket.receiveOrTooLarge(
                    maximumSize: configuration.maximumDatagramSize,
                    descriptorLimit: configuration.maximumDescriptorsPerDatagram)
            } catch {
                if isStopping { return }  // the close that stop() made, or the task's cancellation
                throw error
            }
            counts.refused.store(socket.refusedCount, ordering: .relaxed)
            switch receipt {
            case .datagram(let datagram):
                guard beginHandling() else { return }
                counts.datagrams.add(1, ordering: .relaxed)
                await respond(to: datagram, on: socket)
                guard endHandling() else { return }
            case .tooLarge(let error, let sender):
                counts.tooLarge.add(1, ordering: .relaxed)
                logger.warning("dropped a datagram", metadata: ["uds.error": "\(error)"])
                // Tell a sender that waits for an answer, in the words a stream server uses past its limit.
                let reason = "message exceeds the limit of \(configuration.maximumDatagramSize) bytes"
                if let sender { await send(Acknowledgement.errorReply(reason), to: sender, on: socket) }
            }
        }
    }

    /// Runs the handler and sends its reply, or an error reply when it throws, to a sender that has an address.
    private func respond(to datagram: Datagram, on socket: DatagramSocket) async {
        let reply: Message?
        do {
            reply = try await handler(datagram)
        } catch {
            counts.handlerErrors.add(1, ordering: .relaxed)
            logger.warning("handler failed", metadata: ["uds.error": "\(error)"])
            reply = errorReply(for: error)
        }
        guard let reply, let sender = datagram.sender else { return }
        await send(reply, to: sender, on: socket)
    }

    private func send(_ reply: Message, to sender: UnixSocketAddress, on socket: DatagramSocket) async {
        do {
            try await socket.send(reply, to: sender)
        } catch {
            logger.warning(
                "could not answer a datagram", metadata: ["uds.error": "\(error)", "uds.sender": "\(sender)"])
        }
    }

    /// Stops receiving: at once when no datagram is being handled, otherwise once its reply is sent.
    private func stop() {
        let idle: DatagramSocket? = phase.withLock { phase in
            switch phase {
            case .idle, .stopped:
                return nil
            case .starting:
                phase = .starting(stopRequested: true)
                return nil
            case .receiving(let socket, let handling):
                phase = .stopping
                return handling ? nil : socket
            case .stopping:
                return nil
            }
        }
        idle?.close()  // wakes the receive; a handler running now finishes first, and serve() then returns
    }

    private var isStopping: Bool {
        phase.withLock { phase in
            if case .receiving = phase { return false }
            return true
        }
    }

    /// Marks a datagram as being handled; `false` when the server is stopping.
    private func beginHandling() -> Bool {
        phase.withLock { phase in
            guard case .receiving(let socket, _) = phase else { return false }
            phase = .receiving(socket, handling: true)
            return true
        }
    }

    /// Marks the datagram as handled; `false` when a stop came meanwhile.
    private func endHandling() -> Bool {
        phase.withLock { phase in
            guard case .receiving(let socket, _) = phase else { return false }
            phase = .receiving(socket, handling: false)
            return true
        }
    }

    private final class Counts: Sendable {
        let datagrams = Atomic<Int>(0)
        let refused = Atomic<Int>(0)
        let tooLarge = Atomic<Int>(0)
        let handlerErrors = Atomic<Int>(0)
    }
}
