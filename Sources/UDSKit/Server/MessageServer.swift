public import Logging
public import ServiceLifecycle
import Synchronization
import SystemPackage

/// A server on a Unix domain socket that reads one message per connection and replies to it.
///
/// A connection carries one message: every byte until the client half-closes its side. The server then hands the
/// message to its ``MessageHandler``, writes the reply and closes. Any number of connections are served at once; a
/// failing handler or a misbehaving client affects its own connection only.
///
/// The socket file is handled safely: a stale one (nobody answers on it) is replaced, a live server's is never taken
/// over, and anything that is not a socket is never deleted. The file gets ``Configuration/socketPermissions`` (0600
/// by default) before anyone can connect, and at shutdown it is removed only if it is still the file this server made.
///
/// ```swift
/// let server = MessageServer(address: try UnixSocketAddress("/tmp/app.sock")) { message, context in
///     context.logger.info("got \(message.count) bytes")
///     return "thanks\n"
/// }
/// try await server.run()   // until shutdown(), task cancellation, or a ServiceGroup's graceful shutdown
/// ```
///
/// As a swift-service-lifecycle `Service`, `run()` ends with a graceful shutdown: accepting stops and the socket file
/// is removed (new clients learn at once that nobody serves there), then messages in flight get
/// ``Configuration/shutdownGracePeriod`` to finish.
///
/// Connections run on UDSKit's own event loops (``Configuration/eventLoopCount`` threads, one per usable CPU by
/// default); custom handlers run as Swift tasks.
public final class MessageServer: Service, Sendable {
    /// The socket this server listens on.
    public let address: UnixSocketAddress
    public var configuration: Configuration { core.configuration }
    let core: ServerCore

    private struct Listening: Sendable {
        let group: ReactorGroup
        let descriptor: CInt
        let file: SocketFileOwnership?
        let watch: ListenerWatch
        var offer: HandoverOffer? = nil
    }
    private enum Phase {
        case idle
        case starting(stopRequested: Bool)
        case listening(Listening)
        case stopping
        case stopped
    }
    private struct State {
        var phase = Phase.idle
        var waitingForStop: [CheckedContinuation<Void, Never>] = []
        /// The listening socket went to a successor: the socket file is its now.
        var handedOver = false
        /// A shutdown was asked for while the server drained after a handover: the grace period starts.
        var shutdownRequestedDuringDrain = false
        /// The drain after a handover, waiting for its connections or for a shutdown request.
        var handoverDrain: CheckedContinuation<Bool, Never>? = nil
    }
    private let state = Locked(State())

    /// Creates a server; nothing happens until ``start()`` or ``run()``.
    ///
    /// - Parameters:
    ///   - address: Where to listen.
    ///   - configuration: Permissions, limits, threads.
    ///   - logger: Where the server logs: connection errors at `debug`, the start and stop at `info`, refused
    ///     messages, failed handlers and accept trouble at `warning`. Default: a logger labelled
    ///     `UDSKit.MessageServer`.
    ///   - handler: What to do with each message. One message per connection needs a stream socket, the default
    ///     ``Configuration/socketType``; for seqpacket, pass a ``FramedHandler``.
    public convenience init(
        address: UnixSocketAddress,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "UDSKit.MessageServer"),
        handler: MessageHandler
    ) {
        self.init(address: address, configuration: configuration, logger: logger, wireProtocol: .endOfStream(handler))
    }

    /// Creates a server of persistent connections that carry any number of messages in both directions, until the
    /// client closes them; nothing happens until ``start()`` or ``run()``.
    ///
    /// On ``Configuration/socketType`` ``UnixSocketType/stream`` (the default) each message is a frame
    /// (``Configuration/framing``: a 4-byte big-endian length, then the payload); on ``UnixSocketType/seqPacket`` each
    /// is one packet.
    public convenience init(
        address: UnixSocketAddress,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "UDSKit.MessageServer"),
        framedHandler: FramedHandler
    ) {
        self.init(
            address: address, configuration: configuration, logger: logger,
            wireProtocol: configuration.socketType == .seqPacket ? .seqPacket(framedHandler) : .framed(framedHandler))
    }

    private init(
        address: UnixSocketAddress, configuration: Configuration, logger: Logger, wireProtocol: ServerCore.WireProtocol
    ) {
        self.address = address
        var logger = logger
        logger[metadataKey: "uds.socket"] = "\(address)"
        core = ServerCore(
            configuration: configuration, wireProtocol: wireProtocol, socket: "\(address)", logger: logger)
    }

    /// Creates a server whose handler is `body`, run with each whole message (see ``MessageHandler/buffered(_:)``).
    public convenience init(
        address: UnixSocketAddress,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "UDSKit.MessageServer"),
        _ body: @escaping @Sendable (Message, MessageContext) async throws -> Message
    ) {
        self.init(address: address, configuration: configuration, logger: logger, handler: .buffered(body))
    }

    /// Binds the socket and starts accepting; returns once clients can connect.
    ///
    /// - Throws: ``UnixSocketError``: ``UnixSocketError/Code/serverAlreadyListening`` when a live server answers on
    ///   the path, ``UnixSocketError/Code/notASocket`` when something else is there (it is left alone),
    ///   ``UnixSocketError/Code/pathTooLong``, ``UnixSocketError/Code/permissionDenied``.
    public func start() async throws {
        let alreadyStarted = state.withLock { state -> Bool in
            guard case .idle = state.phase else { return true }
            state.phase = .starting(stopRequested: false)
            return false
        }
        if alreadyStarted {
            throw UnixSocketError(
                .invalidState, operation: .start, socket: "\(address)", detail: "the server was started already")
        }
        var listening: Listening
        do {
            listening = try bindAndStartLoops()
            if configuration.handsOver, let path = address.path {
                listening.offer = try Handover.offer(
                    listening.descriptor, at: Handover.path(for: path), core: core, accepting: listening.watch
                ) { [weak self] in
                    Task { await self?.stopAfterHandover() }
                }
            }
        } catch {
            finishStopping()
            throw error
        }
        let tick = configuration.tickInterval
        let watch = listening.watch
        await listening.group.onEach { reactor in
            watch.start(on: reactor)
            if let tick { reactor.startTicking(every: tick) }
        }
        let started = listening
        let stopRequested = state.withLock { state in
            guard case .starting(let stopRequested) = state.phase else { return true }
            state.phase = stopRequested ? .stopping : .listening(started)
            return stopRequested
        }
        let mode = "0" + String(configuration.socketPermissions.rawValue, radix: 8)
        let metadata: Logger.Metadata =
            configuration.systemdSocketName != nil
            ? ["uds.from": "systemd"]
            : address.isAbstract ? [:] : ["uds.mode": "\(mode)"]
        core.logger.info("listening on \(address)", metadata: metadata)
        if address.isAbstract && configuration.authorization.allowsAnyone {
            core.logger.warning(
                "anyone in the network namespace can connect to \(address): an abstract name has no file permissions, and the authorization policy admits anyone"
            )
        }
        if stopRequested { await stop(listening) }
    }

    private func bindAndStartLoops() throws -> Listening {
        if let reason = configuration.unsupportedSocketTypeReason(for: core.wireProtocol) {
            throw UnixSocketError(.unsupported, operation: .start, socket: "\(address)", detail: reason)
        }
        if address.isAbstract && configuration.authorization.allowsAnyone
            && !configuration.allowsUnprotectedAbstractSocket
        {
            throw UnixSocketError(
                .permissionDenied, operation: .listen, socket: "\(address)",
                detail:
                    "an abstract socket has no file permissions, so admitting anyone would let every process on the machine in; set an authorization policy, or allowsUnprotectedAbstractSocket to do it anyway"
            )
        }
        let listener =
            if configuration.handsOver, let path = address.path,
                let taken = try Handover.takeListener(from: Handover.path(for: path), logger: core.logger)
            {
                ListeningSocket(descriptor: taken, file: SocketFileOwnership.current(at: path))
            } else if let name = configuration.systemdSocketName {
                ListeningSocket(
                    descriptor: try SystemdActivation.takeListener(named: name.isEmpty ? nil : name), file: nil)
            } else {
                try ListeningSocket.bind(
                    to: address, permissions: configuration.socketPermissions, group: configuration.socketGroupID,
                    backlog: configuration.backlog, type: core.wireProtocol.socketType)
            }
        do {
            try requireType(of: listener)
            try Syscall.setNonBlocking(listener.descriptor, true)
            let group = try ReactorGroup(
                count: configuration.eventLoopCount ?? ReactorGroup.usableCPUCount,
                readBufferSize: configuration.maximumReadSize)
            return Listening(
                group: group, descriptor: listener.descriptor, file: listener.file,
                watch: ListenerWatch(listener: listener.descriptor, group: group, core: core))
        } catch {
            Syscall.close(listener.descriptor)
            listener.file?.removeIfOurs()
            throw UnixSocketError.wrapping(error, operation: .start, socket: "\(address)")
        }
    }

    /// Refuses a listening socket taken from systemd or a predecessor that is not of the type this server speaks.
    private func requireType(of listener: ListeningSocket) throws {
        let expected = core.wireProtocol.socketType
        let actual = try Syscall.socketType(listener.descriptor)
        guard actual == expected else {
            throw UnixSocketError(
                .wrongSocketType, operation: .start, socket: "\(address)",
                detail: "the listening socket passed in is a \(actual) socket, but this server speaks \(expected)")
        }
    }

    /// Starts the server if it is not running, and returns after it has shut down: when ``shutdown()`` is called,
    /// when the task is cancelled, or on a `ServiceGroup`'s graceful shutdown (SIGTERM, SIGINT).
    ///
    /// In a `ServiceGroup`, stop the server with the group's `triggerGracefulShutdown()`: a service whose `run()`
    /// returns on its own (after a direct ``shutdown()``) ends the group with an error, as for any service.
    public func run() async throws {
        let isIdle = state.withLock { state in
            if case .idle = state.phase { return true }
            return false
        }
        if isIdle { try await start() }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await waitUntilStopped()
            } onCancel: {
                Task { await self.shutdown() }
            }
        } onGracefulShutdown: {
            Task { await self.shutdown() }
        }
    }

    /// Shuts down gracefully: stops accepting and removes the socket file if it is still ours, lets messages in
    /// flight finish for at most ``Configuration/shutdownGracePeriod``, and closes what is left.
    /// Returns when all of that is done; calling it again waits for the same.
    public func shutdown() async {
        enum Next { case stop(Listening), finish, wait }
        var interruptedDrain: CheckedContinuation<Bool, Never>?
        let next: Next = state.withLock { state in
            switch state.phase {
            case .listening(let listening):
                state.phase = .stopping
                return .stop(listening)
            case .idle:
                return .finish
            case .starting:
                state.phase = .starting(stopRequested: true)  // start() stops what it started
                return .wait
            case .stopping, .stopped:
                if state.handedOver {
                    state.shutdownRequestedDuringDrain = true
                    interruptedDrain = state.handoverDrain
                    state.handoverDrain = nil
                }
                return .wait
            }
        }
        interruptedDrain?.resume(returning: false)
        switch next {
        case .stop(let listening): await stop(listening)
        case .finish: finishStopping()
        case .wait: await waitUntilStopped()
        }
    }

    /// A successor took the listening socket: drain and stop, leaving the socket file to it.
    private func stopAfterHandover() async {
        state.withLock { $0.handedOver = true }
        await shutdown()
    }

    private func stop(_ listening: Listening) async {
        listening.offer?.close()
        let handedOver = state.withLock { $0.handedOver }
        // Stop accepting everywhere. Unless a successor now owns the listener: remove the socket file, so that new
        // clients learn at once that nobody serves here, and take in the connections already waiting in the
        // backlog (at most a backlog's worth, so that clients who keep connecting cannot hold the shutdown up).
        // Then close our copy of the listener.
        await listening.group.onEach { $0.releaseOpen(listening.descriptor) }
        let core = self.core
        if !handedOver {
            listening.file?.removeIfOurs()
            let backlog = Int(configuration.backlog)
            await listening.group.onEach { reactor in
                if reactor === listening.group.reactors.first {
                    let drain = Acceptor(descriptor: listening.descriptor, reactor: reactor, core: core)
                    drain.acceptPending(limit: backlog)
                }
            }
        }
        Syscall.close(listening.descriptor)
        await listening.group.onEach { $0.beginGracefulCloseAll() }
        let open = core.connections.count
        if open > 0 && handedOver {
            // Nobody asked this server to stop: its successor serves, so its own connections end as they would have
            // without the restart (their reply, idle timeout or message deadline), not at the grace period, which
            // would cut off a client that connected just before the handover and has not written yet. A shutdown
            // asked for now (a signal) starts the grace period.
            core.logger.info(
                "handed over: waiting for connections to finish under their own limits",
                metadata: ["uds.open": "\(open)"])
            if await waitUntilDrainedAfterHandover() {
                return finishStopping(listening)
            }
        }
        if open > 0 {
            core.logger.info("shutting down: waiting for messages in flight", metadata: ["uds.open": "\(open)"])
        }
        let grace = configuration.shutdownGracePeriod
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await core.connections.waitUntilDrained()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: grace)
                return false
            }
            if await group.next() == false {
                let left = core.connections.count
                if left > 0 {
                    core.logger.warning(
                        "shutdown grace period over: closing connections in flight", metadata: ["uds.open": "\(left)"])
                }
                await listening.group.onEach { $0.forceCloseAll() }
            }
            group.cancelAll()
        }
        finishStopping(listening)
    }

    private func finishStopping(_ listening: Listening) {
        listening.group.stop()
        core.logger.info("stopped")
        finishStopping()
    }

    /// After a handover: `true` once no connection is open, `false` as soon as a shutdown is asked for.
    private func waitUntilDrainedAfterHandover() async -> Bool {
        await withCheckedContinuation { continuation in
            let requested = state.withLock { state in
                if state.shutdownRequestedDuringDrain { return true }
                state.handoverDrain = continuation
                return false
            }
            if requested { return continuation.resume(returning: false) }
            let (core, state) = (self.core, self.state)
            Task {
                await core.connections.waitUntilDrained()
                let waiter = state.withLock { state in
                    defer { state.handoverDrain = nil }
                    return state.handoverDrain
                }
                waiter?.resume(returning: true)
            }
        }
    }

    private func finishStopping() {
        let waiters = state.withLock { state in
            state.phase = .stopped
            defer { state.waitingForStop = [] }
            return state.waitingForStop
        }
        for waiter in waiters { waiter.resume() }
    }

    private func waitUntilStopped() async {
        await withCheckedContinuation { continuation in
            let isStopped = state.withLock { state in
                if case .stopped = state.phase { return true }
                state.waitingForStop.append(continuation)
                return false
            }
            if isStopped { continuation.resume() }
        }
    }

    /// The number of peers refused so far by ``Configuration/authorization``.
    public var refusedConnectionCount: Int { statistics.refusedConnections }

    /// What the server has done so far: connections, messages, bytes, handler errors.
    public var statistics: ServerStatistics { core.counters.snapshot }

    /// The number of connections open now.
    public var openConnectionCount: Int { core.connections.count }
}
