import Logging
import Synchronization

/// What every acceptor and connection of one ``MessageServer`` shares: read-only settings and the counters.
final class ServerCore: Sendable {
    /// What the server speaks: one message per connection, or frames on persistent connections.
    enum WireProtocol: Sendable {
        case endOfStream(MessageHandler)
        case framed(FramedHandler)
    }
    let configuration: MessageServer.Configuration
    let wireProtocol: WireProtocol
    let logger: Logger
    let connections = ConnectionRegistry()
    private let lastAcceptWarning = Mutex<ContinuousClock.Instant?>(nil)

    init(configuration: MessageServer.Configuration, wireProtocol: WireProtocol, logger: Logger) {
        self.configuration = configuration
        self.wireProtocol = wireProtocol
        self.logger = logger
    }

    /// Logs an accept failure, at most once a second.
    func warnAcceptFailed(_ error: any Error) {
        let now = ContinuousClock.now
        let due = lastAcceptWarning.withLock { last in
            if let previous = last, now - previous < .seconds(1) { return false }
            last = now
            return true
        }
        guard due else { return }
        logger.warning(
            "accept failed; pausing before accepting again",
            metadata: ["uds.error": "\(error)", "uds.pause": "\(configuration.acceptBackoff)"])
    }

    /// The context handed to a handler for connection `id` on `descriptor`; reads the peer's credentials.
    func context(forConnection id: Int, descriptor: CInt) -> MessageContext {
        var logger = self.logger
        logger[metadataKey: "uds.connection"] = "\(id)"
        let peer = try? PeerCredentials.of(descriptor: descriptor)
        if let peer {
            logger[metadataKey: "uds.peer_pid"] = "\(peer.processID)"
            logger[metadataKey: "uds.peer_uid"] = "\(peer.userID)"
        }
        return MessageContext(connectionID: id, logger: logger, peer: peer)
    }
}
