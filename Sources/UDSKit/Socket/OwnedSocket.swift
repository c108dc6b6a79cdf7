import Synchronization
import SystemPackage

/// A socket descriptor that one blocking socket object owns: closed exactly once, its options set with errors that
/// name the socket. ``UnixSocketConnection``, ``SeqPacketConnection`` and ``DatagramSocket`` keep one each.
final class OwnedSocket: Sendable {
    let descriptor: CInt
    /// The socket's address as errors name it.
    let name: String?
    private let isClosed = Atomic<Bool>(false)
    /// Who closes the descriptor instead of ``close()``, once something else watches it (an event loop).
    private let closer = Locked<(any DescriptorCloser)?>(nil)

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
        let closer = closer.withLock { closer -> (any DescriptorCloser)?? in
            guard !isClosed.exchange(true, ordering: .relaxed) else { return .none }
            return .some(closer)
        }
        guard let closer else { return false }
        Syscall.shutdownBoth(descriptor)
        if let closer { closer.closeDescriptor() } else { Syscall.close(descriptor) }
        return true
    }

    /// The closer set for this socket, made by `make` and set if there is none; `nil` once the socket is closed.
    func closer<Closer: DescriptorCloser>(_ make: () -> Closer) -> Closer? {
        closer.withLock { closer in
            guard !isClosed.load(ordering: .relaxed) else { return nil }
            if let existing = closer as? Closer { return existing }
            let made = make()
            closer = made
            return made
        }
    }
}

/// Something that watches a socket's descriptor from elsewhere and so must be the one to close it: the close then
/// happens where the descriptor is watched, and its number cannot be reused while it still is.
protocol DescriptorCloser: AnyObject, Sendable {
    /// Closes the descriptor (it has been shut down already). Called once, from any thread.
    func closeDescriptor()
}
