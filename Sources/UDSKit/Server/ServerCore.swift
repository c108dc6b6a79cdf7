import Logging
import Synchronization

/// What every acceptor and connection of one ``MessageServer`` shares: read-only settings and the counters.
final class ServerCore: Sendable {
    /// What the server speaks: one message per connection, frames on persistent connections, or packets on
    /// persistent seqpacket connections.
    enum WireProtocol: Sendable {
        case endOfStream(MessageHandler)
        case framed(FramedHandler)
        case seqPacket(FramedHandler)

        var socketType: UnixSocketType {
            if case .seqPacket = self { return .seqPacket }
            return .stream
        }
    }
    let configuration: MessageServer.Configuration
    let wireProtocol: WireProtocol
    let logger: Logger
    let connections: ConnectionRegistry
    /// The effective user ID of the server process, for ``AuthorizationPolicy/sameUser``.
    let serverUserID = AuthorizationPolicy.processUserID
    /// What the server has done, for ``MessageServer/statistics`` and swift-metrics.
    let counters: ServerCounters
    /// What every connection enforces, from ``configuration``. A one-message connection pauses reading while any
    /// echo waits to be written (an outbound limit of 1 byte) and keeps passed descriptors; a framed one queues up
    /// to ``MessageServer/Configuration/maximumOutboundBytes`` and has no message deadline.
    let connectionLimits: ConnectionLimits
    private let lastAcceptWarning = Locked<ContinuousClock.Instant?>(nil)

    init(configuration: MessageServer.Configuration, wireProtocol: WireProtocol, socket: String, logger: Logger) {
        self.counters = ServerCounters(socket: socket)
        self.configuration = configuration
        self.connections = ConnectionRegistry(limit: configuration.maximumConnections)
        self.wireProtocol = wireProtocol
        self.logger = logger
        if case .endOfStream = wireProtocol {
            connectionLimits = ConnectionLimits(
                outboundLimit: 1, idleTimeout: configuration.idleTimeout,
                messageDeadline: configuration.messageDeadline,
                descriptorLimit: configuration.maximumDescriptorsPerMessage)
        } else {
            connectionLimits = ConnectionLimits(
                outboundLimit: configuration.maximumOutboundBytes, idleTimeout: configuration.idleTimeout)
        }
    }

    /// Whether the peer on `descriptor` may talk to this server; logs and counts a refusal.
    func authorize(_ descriptor: CInt) -> Bool {
        let policy = configuration.authorization
        if policy.allowsAnyone { return true }
        guard let peer = try? PeerCredentials.of(descriptor: descriptor, includingGroups: policy.needsPeerGroups) else {
            counters.refusedPeer()
            logger.warning("refused a peer whose credentials could not be read")
            return false
        }
        guard policy.admits(peer, serverUserID: serverUserID) else {
            counters.refusedPeer()
            logger.warning(
                "refused a peer the authorization policy does not admit",
                metadata: [
                    "uds.peer_pid": "\(peer.processID)", "uds.peer_uid": "\(peer.userID)",
                    "uds.peer_gid": "\(peer.groupID)",
                ])
            return false
        }
        return true
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
    func context(
        forConnection id: Int, descriptor: CInt, passed: [ReceivedDescriptor] = []
    ) -> MessageContext {
        var logger = self.logger
        logger[metadataKey: "uds.connection"] = "\(id)"
        let peer = try? PeerCredentials.of(descriptor: descriptor)
        if let peer {
            logger[metadataKey: "uds.peer_pid"] = "\(peer.processID)"
            logger[metadataKey: "uds.peer_uid"] = "\(peer.userID)"
        }
        return MessageContext(
            connectionID: id, logger: logger, peer: peer, descriptors: passed,
            peerProcess: PeerCredentials.processDescriptor(of: descriptor), counters: counters)
    }
}
