import Logging
import SystemPackage

/// A ``ConnectionDriver`` that a ``MessageServer`` accepted: counted in its registry and counters, timed out by its
/// idle timeout, and logged with its connection ID. The shared base of ``EOFConnection`` and ``FramedConnection``.
class ServerConnection: ConnectionDriver {
    let core: ServerCore
    let id: Int

    init(
        descriptor: CInt, reactor: Reactor, core: ServerCore, transport: any ConnectionTransport,
        limits: ConnectionLimits
    ) {
        self.core = core
        self.id = core.connections.add()
        super.init(descriptor: descriptor, reactor: reactor, transport: transport, limits: limits)
        core.counters.connectionOpened()
    }

    override func fail(_ error: Errno) {
        core.logger.debug("connection failed", metadata: ["uds.connection": "\(id)", "uds.error": "\(error)"])
        close()
    }

    /// Subclasses release what they hold, then call this last: the registry learns of the close.
    override func didClose() {
        core.counters.connectionClosed()
        core.connections.remove()
    }

    override func didSend(_ count: Int) { core.counters.sent(count) }

    /// The connection's ID and, when they can be read, the peer's process and user IDs.
    func peerMetadata() -> Logger.Metadata {
        var metadata: Logger.Metadata = ["uds.connection": "\(id)"]
        if let peer = try? PeerCredentials.of(descriptor: descriptor) {
            metadata["uds.peer_pid"] = "\(peer.processID)"
            metadata["uds.peer_uid"] = "\(peer.userID)"
        }
        return metadata
    }
}
