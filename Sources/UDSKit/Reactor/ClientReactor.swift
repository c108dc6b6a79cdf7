import SystemPackage

/// The reactor that runs every client connection of this process (``MessageClient``, ``FramedClient``, and the
/// `async` calls of ``SeqPacketConnection`` and ``DatagramSocket``): one thread, started on first use, so a process
/// that never makes a client call starts none. A start that fails (no descriptors left for epoll, say) is not
/// remembered: the next call tries again.
enum ClientReactor {
    private static let started = Locked<Reactor?>(nil)

    /// The running client reactor, started now if it is not yet.
    ///
    /// - Throws: ``UnixSocketError`` with ``UnixSocketError/Code/system`` when its epoll instance cannot be made.
    static func get() throws(UnixSocketError) -> Reactor {
        let result = started.withLock { reactor -> Result<Reactor, Errno> in
            if let reactor { return .success(reactor) }
            do throws(Errno) {
                let made = try ReactorGroup(count: 1, readBufferSize: 256 * 1024).reactors[0]
                reactor = made
                return .success(made)
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let reactor): return reactor
        case .failure(let error):
            throw UnixSocketError(
                .system, operation: .epollCreate, systemError: error,
                detail: "cannot start the clients' event loop")
        }
    }
}
