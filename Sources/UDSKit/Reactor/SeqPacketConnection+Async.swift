public import SystemPackage

/// The `async` calls of a seqpacket connection: each tries its operation without blocking, and while the socket is
/// not ready waits on the client reactor (``SocketReadiness``), never on a thread of its own.
extension SeqPacketConnection {
    /// Sends `message` as one packet, waiting without a thread while the socket has no room.
    ///
    /// - Throws: as the blocking `send(_:passing:)`; `CancellationError` when the task is cancelled while waiting.
    public func send(_ message: Message, passing descriptors: [SystemPackage.FileDescriptor] = []) async throws {
        while true {
            if try socket.withOpenDescriptor({ _ throws(UnixSocketError) in
                try send(message, passing: descriptors, dontWait: true)
            }) {
                return
            }
            try await readiness().wait(writable: true)
        }
    }

    /// Waits, without a thread, for the next message; `nil` once the server has closed.
    ///
    /// - Throws: as the blocking `receive(maximumSize:)`; `CancellationError` when the task is cancelled while
    ///   waiting; ``UnixSocketError/Code/connectionClosed`` when the connection is closed meanwhile.
    public func receive(maximumSize: Int = 256 * 1024) async throws -> Message? {
        while true {
            if let message = try socket.withOpenDescriptor({ _ throws(UnixSocketError) in
                try receiveIfReady(maximumSize: maximumSize)
            }) {
                return message
            }
            try await readiness().wait(writable: false)
        }
    }

    /// Sends `message` and waits, without a thread, for the reply.
    public func request(_ message: Message, maximumReplySize: Int = 256 * 1024) async throws -> Message {
        try await send(message)
        guard let reply = try await receive(maximumSize: maximumReplySize) else {
            throw UnixSocketError(
                .connectionClosed, operation: .receive, socket: address.description,
                detail: "the server closed the connection instead of replying")
        }
        return reply
    }

    private func readiness() throws -> SocketReadiness {
        let reactor = try ClientReactor.get()
        guard
            let readiness = socket.closer({
                SocketReadiness(descriptor: socket.descriptor, reactor: reactor, name: address.description)
            })
        else {
            throw UnixSocketError(
                .connectionClosed, operation: .receive, socket: address.description, detail: "the connection was closed"
            )
        }
        return readiness
    }
}
