/// Waits on the client reactor until a blocking socket's descriptor is readable or writable: how the `async` calls
/// of ``SeqPacketConnection`` and ``DatagramSocket`` wait without a thread of their own.
///
/// Such a call first tries its operation without blocking (`MSG_DONTWAIT`); only when the socket is not ready does it
/// wait here, and then tries again. One instance per socket, made on first use and kept as the socket's
/// ``DescriptorCloser``: once it watches the descriptor, closing the socket shuts it down at once and leaves the
/// `close(2)` to the reactor, so waiting calls end with ``UnixSocketError/Code/connectionClosed`` and the
/// descriptor's number is not reused while epoll still holds it.
final class SocketReadiness: ReactorSource, DescriptorCloser, @unchecked Sendable {
    private let descriptor: CInt
    private let reactor: Reactor
    private let name: String?
    // The rest belongs to the reactor's thread.
    private var readers: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    private var writers: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextID = 0
    private var isAdopted = false
    private var isClosed = false

    init(descriptor: CInt, reactor: Reactor, name: String?) {
        self.descriptor = descriptor
        self.reactor = reactor
        self.name = name
    }

    /// Returns once the descriptor is writable (`writable`) or readable, or has hung up.
    ///
    /// - Throws: `CancellationError` when the task is cancelled; ``UnixSocketError/Code/connectionClosed`` when the
    ///   socket is closed meanwhile.
    func wait(writable: Bool) async throws {
        // The wait's ID once it is registered; -2 when the task was cancelled before that.
        let state = Locked(-1)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                reactor.perform { [self] in
                    state.withLock { id in
                        if id == -2 { return continuation.resume(throwing: CancellationError()) }
                        id = add(continuation, writable: writable)
                    }
                }
            }
        } onCancel: {
            let id = state.withLock { id -> Int in
                defer { if id == -1 { id = -2 } }
                return id
            }
            if id >= 0 { reactor.perform { [self] in cancel(id) } }
        }
    }

    private func add(_ continuation: CheckedContinuation<Void, any Error>, writable: Bool) -> Int {
        guard !isClosed else {
            continuation.resume(throwing: closedError)
            return -3
        }
        nextID += 1
        if writable { writers.append((nextID, continuation)) } else { readers.append((nextID, continuation)) }
        if !isAdopted {
            reactor.adopt(descriptor, self)
            isAdopted = true
        }
        updateInterest()
        return nextID
    }

    /// Ends the wait `id` with `CancellationError`, if it is still waiting.
    private func cancel(_ id: Int) {
        if let index = readers.firstIndex(where: { $0.id == id }) {
            readers.remove(at: index).continuation.resume(throwing: CancellationError())
        } else if let index = writers.firstIndex(where: { $0.id == id }) {
            writers.remove(at: index).continuation.resume(throwing: CancellationError())
        }
        updateInterest()
    }

    func handle(_ events: Epoll.Events) {
        let hungUp = !events.isDisjoint(with: [.error, .hangUp])
        if hungUp || events.contains(.readable) {
            for reader in readers { reader.continuation.resume() }
            readers = []
        }
        if hungUp || events.contains(.writable) {
            for writer in writers { writer.continuation.resume() }
            writers = []
        }
        updateInterest()
    }

    func forceClose() { closeOnLoop() }

    func closeDescriptor() {
        reactor.execute { [self] in closeOnLoop() }
    }

    private func closeOnLoop() {
        guard !isClosed else { return }
        isClosed = true
        for waiter in readers + writers { waiter.continuation.resume(throwing: closedError) }
        readers = []
        writers = []
        if isAdopted { reactor.release(descriptor) }
        Syscall.close(descriptor)
    }

    private var closedError: UnixSocketError {
        UnixSocketError(.connectionClosed, operation: .receive, socket: name, detail: "the socket was closed")
    }

    private func updateInterest() {
        guard isAdopted, !isClosed else { return }
        var interest: Epoll.Events = []
        if !readers.isEmpty { interest.insert(.readable) }
        if !writers.isEmpty { interest.insert(.writable) }
        if interest.isEmpty {
            reactor.unwatch(descriptor)
            return
        }
        do {
            try reactor.watch(descriptor, interest)
        } catch {
            let failure = UnixSocketError.from(error, operation: .epollControl, socket: name)
            for waiter in readers + writers { waiter.continuation.resume(throwing: failure) }
            readers = []
            writers = []
        }
    }
}
