public import SystemPackage

/// The `async` calls of a datagram socket: each tries its operation without blocking, and while the socket is not
/// ready waits on the client reactor (``SocketReadiness``), never on a thread of its own.
extension DatagramSocket {
    /// Sends `message` as one datagram, waiting without a thread while the receiver's queue is full.
    ///
    /// - Throws: as the blocking `send(_:to:passing:)`; `CancellationError` when the task is cancelled while waiting.
    public func send(
        _ message: Message, to address: UnixSocketAddress? = nil,
        passing descriptors: [SystemPackage.FileDescriptor] = []
    ) async throws {
        while true {
            if try socket.withOpenDescriptor({ _ throws(UnixSocketError) in
                try send(message, to: address, passing: descriptors, dontWait: true)
            }) {
                return
            }
            try await readiness().wait(writable: true)
        }
    }

    /// As `receiveOrTooLarge`, waiting without a thread.
    package func receiveOrTooLarge(maximumSize: Int, descriptorLimit: Int) async throws -> Receipt {
        while true {
            if let receipt = try socket.withOpenDescriptor({ _ throws(UnixSocketError) in
                try receiveOrTooLarge(maximumSize: maximumSize, descriptorLimit: descriptorLimit, dontWait: true)
            }) {
                return receipt
            }
            try await readiness().wait(writable: false)
        }
    }

    /// Waits, without a thread, for the next admitted datagram.
    ///
    /// - Throws: as the blocking `receive(maximumSize:descriptorLimit:)`; `CancellationError` when the task is
    ///   cancelled while waiting; ``UnixSocketError/Code/connectionClosed`` when the socket is closed meanwhile.
    public func receive(maximumSize: Int = 64 * 1024, descriptorLimit: Int = 0) async throws -> Datagram {
        switch try await receiveOrTooLarge(maximumSize: maximumSize, descriptorLimit: descriptorLimit) {
        case .datagram(let datagram): return datagram
        case .tooLarge(let error, _): throw error
        }
    }

    private func readiness() throws -> SocketReadiness {
        let reactor = try ClientReactor.get()
        let name = localAddress?.description
        guard
            let readiness = socket.closer({
                SocketReadiness(descriptor: socket.descriptor, reactor: reactor, name: name)
            })
        else {
            throw UnixSocketError(.connectionClosed, operation: .receive, socket: name, detail: "the socket was closed")
        }
        return readiness
    }
}
