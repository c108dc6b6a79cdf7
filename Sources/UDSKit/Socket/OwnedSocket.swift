import Synchronization
import SystemPackage

/// A socket descriptor that one blocking socket object owns: closed exactly once, its options set with errors that
/// name the socket. ``UnixSocketConnection``, ``SeqPacketConnection`` and ``DatagramSocket`` keep one each.
final class OwnedSocket: Sendable {
    let descriptor: CInt
    /// The socket's address as errors name it.
    let name: String?
    private let isClosed = Atomic<Bool>(false)

    init(_ descriptor: CInt, name: String?) {
        self.descriptor = descriptor
        self.name = name
    }

    deinit { close() }

    var isOpen: Bool { !isClosed.load(ordering: .relaxed) }

    /// The peer's process, user and group IDs (`SO_PEERCRED`).
    func peerCredentials() throws(UnixSocketError) -> PeerCredentials {
        do {
            return try PeerCredentials.of(descriptor: descriptor)
        } catch {
            throw UnixSocketError.from(error, operation: "getsockopt", socket: name)
        }
    }

    /// Sets `SO_RCVTIMEO` or `SO_SNDTIMEO`; `nil` waits forever.
    func setTimeout(option: CInt, _ timeout: Duration?) throws(UnixSocketError) {
        do {
            try Syscall.setTimeout(descriptor, option: option, timeout)
        } catch {
            throw UnixSocketError.from(error, operation: "setsockopt", socket: name)
        }
    }

    /// `shutdown(SHUT_WR)`: the peer reads the end, and this side can still read.
    func closeWrite() throws(UnixSocketError) {
        do {
            try Syscall.shutdownWrite(descriptor)
        } catch {
            throw UnixSocketError.from(error, operation: "shutdown", socket: name)
        }
    }

    /// Closes the descriptor, after shutting it down so that a read waiting on another thread returns. Returns
    /// whether this call closed it (later calls do nothing).
    @discardableResult
    func close() -> Bool {
        guard !isClosed.exchange(true, ordering: .relaxed) else { return false }
        Syscall.shutdownBoth(descriptor)
        Syscall.close(descriptor)
        return true
    }
}
