import Synchronization
import SystemPackage

/// A socket descriptor that one blocking socket object owns: closed exactly once, its options set with errors that
/// name the socket. ``UnixSocketConnection``, ``SeqPacketConnection`` and ``DatagramSocket`` keep one each.
final class OwnedSocket: Sendable {
    let descriptor: CInt
    /// The socket's address as errors name it.
    let name: String?
    private let isClosed = Atomic<Bool>(false)
    private struct Use {
        /// Who closes the descriptor instead of ``close()``, once something else watches it (an event loop).
        var closer: (any DescriptorCloser)?
        /// Calls inside ``withOpenDescriptor(_:)`` now; the descriptor is closed when the last one leaves.
        var users = 0
        var isClosePending = false
    }
    private let use = Locked(Use())

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
            throw UnixSocketError.from(error, operation: .getsockopt, socket: name)
        }
    }

    /// Sets `SO_RCVTIMEO` or `SO_SNDTIMEO`; `nil` waits forever.
    func setTimeout(option: CInt, _ timeout: Duration?) throws(UnixSocketError) {
        do {
            try Syscall.setTimeout(descriptor, option: option, timeout)
        } catch {
            throw UnixSocketError.from(error, operation: .setsockopt, socket: name)
        }
    }

    /// `shutdown(SHUT_WR)`: the peer reads the end, and this side can still read.
    func closeWrite() throws(UnixSocketError) {
        do {
            try Syscall.shutdownWrite(descriptor)
        } catch {
            throw UnixSocketError.from(error, operation: .shutdown, socket: name)
        }
    }

    /// Closes the descriptor, after shutting it down so that a read waiting on another thread returns. Returns
    /// whether this call closed it (later calls do nothing). A call inside ``withOpenDescriptor(_:)`` on another
    /// thread keeps the descriptor open until it returns, so its number is not reused under it.
    @discardableResult
    func close() -> Bool {
        enum Step { case alreadyClosed, closesWhenUnused, closeNow((any DescriptorCloser)?) }
        let step = use.withLock { use -> Step in
            guard !isClosed.exchange(true, ordering: .relaxed) else { return .alreadyClosed }
            Syscall.shutdownBoth(descriptor)
            guard use.users == 0 else {
                use.isClosePending = true
                return .closesWhenUnused
            }
            return .closeNow(use.closer)
        }
        switch step {
        case .alreadyClosed: return false
        case .closesWhenUnused: return true
        case .closeNow(let closer):
            finishClose(closer)
            return true
        }
    }

    private func finishClose(_ closer: (any DescriptorCloser)?) {
        if let closer { closer.closeDescriptor() } else { Syscall.close(descriptor) }
    }

    /// Runs `body` with the descriptor held open: a ``close()`` meanwhile shuts it down at once but closes it only
    /// when `body` returns.
    ///
    /// - Throws: ``UnixSocketError/Code/connectionClosed`` when the socket is closed already; what `body` throws.
    func withOpenDescriptor<Result>(_ body: (CInt) throws(UnixSocketError) -> Result) throws(UnixSocketError) -> Result
    {
        let isOpen = use.withLock { use in
            guard !isClosed.load(ordering: .relaxed) else { return false }
            use.users += 1
            return true
        }
        guard isOpen else {
            throw UnixSocketError(.connectionClosed, operation: .receive, socket: name, detail: "the socket was closed")
        }
        defer {
            let closer = use.withLock { use -> (any DescriptorCloser)?? in
                use.users -= 1
                guard use.users == 0 && use.isClosePending else { return .none }
                use.isClosePending = false
                return .some(use.closer)
            }
            if let closer { finishClose(closer) }
        }
        return try body(descriptor)
    }

    /// The closer set for this socket, made by `make` and set if there is none; `nil` once the socket is closed.
    func closer<Closer: DescriptorCloser>(_ make: () -> Closer) -> Closer? {
        use.withLock { use in
            guard !isClosed.load(ordering: .relaxed) else { return nil }
            if let existing = use.closer as? Closer { return existing }
            let made = make()
            use.closer = made
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
