import Dispatch
import Logging
import Synchronization
import SystemPackage

/// Zero-downtime restart: a running server offers its listening socket on a second, private socket (the handover
/// socket); a successor started on the same path connects there and receives the listening socket itself
/// (`SCM_RIGHTS`). Connections waiting in the backlog, and every later one, go to the successor: no client sees a
/// refused connection. The predecessor drains its own connections and stops without removing the socket file.
///
/// The predecessor stops watching the listener on all its event loops before it sends it, so it accepts nothing
/// once the successor has it. Two things depend on that order. Every event loop watches the listener with
/// `EPOLLEXCLUSIVE`, and the kernel wakes the exclusive waiters in the order they registered: the predecessor's
/// first, for every new connection, for as long as they stay registered. And a wake-up the predecessor receives but
/// no longer acts on (it unregistered in between) is lost, leaving that connection in the backlog with nobody woken
/// for it until the next one comes. Unregistered first, the predecessor gets no wake-ups after the handover, and
/// the successor's registration (`EPOLL_CTL_ADD` looks at the socket's state at once) finds whatever waits in the
/// backlog.
enum Handover {
    /// The handover socket of the server at `path`: `PATH.handover`.
    static func path(for socketPath: String) -> String { socketPath + ".handover" }

    /// Takes the listening socket from the server offering it at `handoverPath`, or returns `nil` if nobody offers
    /// one there (no file, or a stale one).
    static func takeListener(from handoverPath: String, logger: Logger) throws -> CInt? {
        let address = try UnixSocketAddress(handoverPath)
        let connection: UnixSocketConnection
        do {
            connection = try UnixSocketConnection.connect(to: address, timeout: .seconds(5))
        } catch let error as UnixSocketError where error.code == .noSocketFile || error.code == .staleSocketFile {
            return nil
        }
        defer { connection.close() }
        try connection.setReadTimeout(.seconds(30))
        var descriptors: [ReceivedDescriptor] = []
        var byte: UInt8 = 0
        let count = try withUnsafeMutableBytes(of: &byte) { raw in
            try connection.read(into: raw, descriptors: &descriptors, limit: 1)
        }
        guard count == 1, let listener = descriptors.first else {
            throw UnixSocketError(
                .connectionClosed, operation: .takeOver, socket: handoverPath,
                detail: "the running server did not hand over its listening socket")
        }
        logger.info("took over the listening socket from the running server")
        return listener.take().rawValue
    }

    /// Offers `listener` on a new handover socket at `handoverPath` (mode 0600, same-user peers only) from a thread
    /// of its own; before it sends the listener, stops `accepting` it on every event loop (and starts again if the
    /// send fails); calls `handedOver` once a successor took it.
    static func offer(
        _ listener: CInt, at handoverPath: String, core: ServerCore, accepting: ListenerWatch,
        handedOver: @escaping @Sendable () -> Void
    ) throws -> HandoverOffer {
        let socket = try ListeningSocket.bind(
            to: try UnixSocketAddress(handoverPath), permissions: [.ownerRead, .ownerWrite], backlog: 4)
        let offer = HandoverOffer(descriptor: socket.descriptor, file: socket.file)
        startOfferThread(offer: offer, listener: listener, core: core, accepting: accepting, handedOver: handedOver)
        return offer
    }

    private static func startOfferThread(
        offer: HandoverOffer, listener: CInt, core: ServerCore, accepting: ListenerWatch,
        handedOver: @escaping @Sendable () -> Void
    ) {
        ThreadStarter.start {
            while let successor = offer.accept() {
                guard core.authorize(successor) else {
                    Syscall.close(successor)
                    continue
                }
                // Accept nothing more here (see the type's discussion), and leave the successor no handover file of
                // ours once it has the socket: both before sending.
                accepting.stop()
                offer.close()
                let marker: [UInt8] = [UInt8(ascii: "L")]
                let sent = marker.withUnsafeBytes { byte in
                    (try? Syscall.sendPassing(successor, byte, descriptors: [listener], dontWait: false)) ?? 0
                }
                Syscall.close(successor)
                if sent == 1 {
                    core.logger.info("handed the listening socket to a successor; draining")
                    handedOver()
                } else {
                    accepting.resume()
                    core.logger.warning("handing over the listening socket failed; serving on")
                }
                return
            }
        }
    }
}

/// Whether a server's event loops watch its listening socket: started with the server, stopped (and, if the
/// handover fails, started again) by the handover thread, which waits until every loop has done it.
final class ListenerWatch: Sendable {
    private let listener: CInt
    private let group: ReactorGroup
    private let core: ServerCore
    private let isStopped = Atomic<Bool>(false)

    init(listener: CInt, group: ReactorGroup, core: ServerCore) {
        self.listener = listener
        self.group = group
        self.core = core
    }

    /// Starts an ``Acceptor`` on `reactor` unless accepting was stopped. Call on the reactor's thread.
    func start(on reactor: Reactor) {
        guard !isStopped.load(ordering: .acquiring) else { return }
        Acceptor(descriptor: listener, reactor: reactor, core: core).start()
    }

    /// Stops accepting on every event loop; returns once each has stopped watching the listener.
    func stop() {
        isStopped.store(true, ordering: .releasing)
        onEachWaiting { [listener] reactor in reactor.releaseOpen(listener) }
    }

    /// Starts accepting again on every event loop.
    func resume() {
        isStopped.store(false, ordering: .releasing)
        onEachWaiting { [self] reactor in start(on: reactor) }
    }

    /// Runs `body` on every reactor's thread, blocking this (non-reactor) thread until all have, or for at most
    /// 10 seconds: reactors that a shutdown stopped meanwhile never run it, and accept nothing either.
    private func onEachWaiting(_ body: @escaping @Sendable (Reactor) -> Void) {
        let done = DispatchSemaphore(value: 0)
        for reactor in group.reactors {
            reactor.execute {
                body(reactor)
                done.signal()
            }
        }
        let deadline = DispatchTime.now() + .seconds(10)
        for _ in group.reactors where done.wait(timeout: deadline) == .timedOut { return }
    }
}

/// The handover socket a server listens on for its successor.
final class HandoverOffer: Sendable {
    private let descriptor: CInt
    private let file: SocketFileOwnership?
    private let isClosed = Atomic<Bool>(false)

    init(descriptor: CInt, file: SocketFileOwnership?) {
        self.descriptor = descriptor
        self.file = file
    }

    /// Waits for a successor; `nil` once closed.
    func accept() -> CInt? {
        while !isClosed.load(ordering: .relaxed) {
            do {
                return try Syscall.acceptBlocking(descriptor)
            } catch .connectionAbort {
                continue
            } catch {
                return nil
            }
        }
        return nil
    }

    /// Stops offering: removes the handover file and closes the socket (which ends a waiting `accept`).
    func close() {
        guard !isClosed.exchange(true, ordering: .relaxed) else { return }
        file?.removeIfOurs()
        Syscall.shutdownBoth(descriptor)
        Syscall.close(descriptor)
    }
}
