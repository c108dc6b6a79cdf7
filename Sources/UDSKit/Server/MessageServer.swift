public import Logging
import NIOCore
import NIOPosix
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
/// As a swift-service-lifecycle `Service`, `run()` ends with a graceful shutdown: accepting stops, messages in flight
/// get ``Configuration/shutdownGracePeriod`` to finish, then the socket file is removed.
public final class MessageServer: Service, Sendable {
    /// The socket this server listens on.
    public let address: UnixSocketAddress
    public let configuration: Configuration
    public let handler: MessageHandler
    let logger: Logger
    let connections = ConnectionRegistry()

    private enum State {
        case idle
        case listening(any Channel, SocketFileOwnership?)
        case stopping
        case stopped
    }
    private let state = Mutex(State.idle)
    private let stopped: EventLoopPromise<Void>
    let group: any EventLoopGroup

    /// Creates a server; nothing happens until ``start()`` or ``run()``.
    ///
    /// - Parameters:
    ///   - address: Where to listen.
    ///   - configuration: Permissions, limits, event loops.
    ///   - logger: Where the server logs: connection errors at `debug`, refused messages and accept trouble at
    ///     `warning`. Default: a logger labelled `UDSKit.MessageServer`.
    ///   - handler: What to do with each message.
    public init(
        address: UnixSocketAddress,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "UDSKit.MessageServer"),
        handler: MessageHandler
    ) {
        self.address = address
        self.configuration = configuration
        self.handler = handler
        var logger = logger
        logger[metadataKey: "uds.socket"] = "\(address)"
        self.logger = logger
        self.group = configuration.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        self.stopped = group.any().makePromise(of: Void.self)
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
        let canStart = state.withLock { state in
            if case .idle = state { state = .stopping; return true }
            return false
        }
        guard canStart else { throw UnixSocketError(.system, operation: "start", socket: "\(address)", detail: "the server was already started") }
        let listener: ListeningSocket
        let channel: any Channel
        do {
            listener = try ListeningSocket.bind(
                to: address, permissions: configuration.socketPermissions, backlog: configuration.backlog)
            do {
                channel = try await makeBootstrap().withBoundSocket(listener.descriptor).get()
            } catch {
                Syscall.close(listener.descriptor)
                listener.file?.removeIfOurs()
                throw error
            }
        } catch {
            state.withLock { $0 = .stopped }
            stopped.succeed()
            throw error
        }
        let stopNow = state.withLock { state in
            if case .stopping = state { state = .listening(channel, listener.file); return false }
            return true
        }
        logger.info("listening on \(address)", metadata: address.isAbstract ? [:] : ["uds.mode": "0\(String(configuration.socketPermissions.rawValue, radix: 8))"])
        if stopNow { await shutdown() }
    }

    /// Starts the server if it is not running, and returns after it has shut down: when ``shutdown()`` is called,
    /// when the task is cancelled, or on a `ServiceGroup`'s graceful shutdown (SIGTERM, SIGINT).
    public func run() async throws {
        let isIdle = state.withLock { state in
            if case .idle = state { return true }
            return false
        }
        if isIdle { try await start() }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await stopped.futureResult.get()
            } onCancel: {
                Task { await self.shutdown() }
            }
        } onGracefulShutdown: {
            Task { await self.shutdown() }
        }
    }

    /// Shuts down gracefully: stops accepting, lets messages in flight finish for at most
    /// ``Configuration/shutdownGracePeriod``, closes what is left, and removes the socket file if it is still ours.
    /// Returns when all of that is done; calling it again waits for the same.
    public func shutdown() async {
        let listening: (any Channel, SocketFileOwnership?)? = state.withLock { state in
            switch state {
            case .listening(let channel, let file):
                state = .stopping
                return (channel, file)
            case .idle:
                state = .stopped
                stopped.succeed()
                return nil
            case .stopping, .stopped:
                return nil
            }
        }
        guard let (channel, file) = listening else {
            try? await stopped.futureResult.get()
            return
        }
        try? await channel.close()
        let open = connections.count
        if open > 0 { logger.info("shutting down: waiting for connections in flight", metadata: ["uds.open": "\(open)"]) }
        let grace = configuration.shutdownGracePeriod
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.connections.waitUntilDrained()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: grace)
                return false
            }
            if await group.next() == false {
                let left = connections.count
                if left > 0 {
                    logger.warning("shutdown grace period over: closing connections in flight", metadata: ["uds.open": "\(left)"])
                }
                connections.closeAll()
            }
            group.cancelAll()
        }
        file?.removeIfOurs()
        logger.info("stopped")
        state.withLock { $0 = .stopped }
        stopped.succeed()
    }

    /// The number of connections open now.
    public var openConnectionCount: Int { connections.count }
}
