import Logging
import NIOCore
import SystemPackage

/// Accepts connections from the shared listening socket on one reactor and starts an ``EOFConnection`` or a
/// ``FramedConnection`` (over ``StreamFrames`` or ``Packets``) for each.
///
/// Every reactor watches the listener with `EPOLLEXCLUSIVE`, so a new connection wakes one of them. When the system
/// runs out of descriptors or buffers, this reactor stops watching for ``MessageServer/Configuration/acceptBackoff``
/// and then resumes: an accept error never stops the server.
final class Acceptor: ReactorSource {
    private let descriptor: CInt
    private let reactor: Reactor
    private let core: ServerCore
    private var isOpen = true

    init(descriptor: CInt, reactor: Reactor, core: ServerCore) {
        self.descriptor = descriptor
        self.reactor = reactor
        self.core = core
    }

    /// Starts watching the listener.
    func start() {
        reactor.adopt(descriptor, self)
        resume()
    }

    func handle(_ events: Epoll.Events) {
        acceptPending(limit: 64)
    }

    /// Accepts up to `limit` waiting connections, stopping at the server's connection limit.
    func acceptPending(limit: Int) {
        for _ in 0..<limit where isOpen {
            if pauseIfFull() { return }
            let accepted: CInt?
            do {
                accepted = try Syscall.acceptNonBlocking(descriptor)
            } catch {
                handleAcceptError(error)
                return
            }
            guard let accepted else { return }
            guard core.authorize(accepted) else {
                refuse(accepted)
                continue
            }
            let configuration = core.configuration
            switch core.wireProtocol {
            case .endOfStream(let handler):
                EOFConnection(descriptor: accepted, reactor: reactor, core: core, handler: handler).start()
            case .framed(let handler):
                let transport = StreamFrames(configuration.framing, maximumFrameSize: configuration.maximumFrameSize)
                FramedConnection(descriptor: accepted, reactor: reactor, core: core, transport: transport)
                    .start(handler)
            case .seqPacket(let handler):
                let transport = Packets(
                    maximumSize: configuration.maximumFrameSize, receiver: "this server",
                    settings: " (maximumFrameSize, maximumReadSize)")
                FramedConnection(descriptor: accepted, reactor: reactor, core: core, transport: transport)
                    .start(handler)
            }
        }
    }

    /// Closes a peer the authorization policy refused; a one-message client first gets `error: not authorized`.
    private func refuse(_ descriptor: CInt) {
        if case .endOfStream = core.wireProtocol {
            Acknowledgement.notAuthorizedReply.buffer.withUnsafeReadableBytes { reply in
                _ = try? Syscall.sendNonBlocking(descriptor, reply)
            }
        }
        Syscall.close(descriptor)
    }

    /// At the connection limit: stops watching the listener until a connection closes. Returns whether it paused.
    private func pauseIfFull() -> Bool {
        guard core.connections.count >= core.connections.limit else { return false }
        let acceptor = ReactorBound(self, on: reactor)
        let paused = core.connections.pauseIfFull { acceptor.execute { $0.resume() } }
        if paused { reactor.unwatch(descriptor) }
        return paused
    }

    private func handleAcceptError(_ error: Errno) {
        switch error {
        case .connectionAbort, .interrupted, .protocolError:
            return  // that client is gone; the next one is fine
        case .tooManyOpenFiles, .tooManyOpenFilesInSystem, .noBufferSpace, .noMemory:
            core.warnAcceptFailed(error)
            reactor.unwatch(descriptor)
            reactor.schedule(after: core.configuration.acceptBackoff) { [weak self] in self?.resume() }
        default:
            core.logger.error("accept failed; this event loop stops accepting", metadata: ["uds.error": "\(error)"])
            stop()
        }
    }

    private func resume() {
        guard isOpen else { return }
        do {
            try reactor.watch(descriptor, [.readable, .exclusive])
        } catch {
            core.logger.error("cannot watch the listening socket", metadata: ["uds.error": "\(error)"])
        }
    }

    /// Stops accepting on this reactor; the listening descriptor stays open for the others.
    func stop() {
        isOpen = false
        reactor.releaseOpen(descriptor)
    }

    func forceClose() { stop() }
}
