import SystemPackage

/// Connecting a non-blocking client socket without a thread to block.
///
/// A Unix socket's `connect` finishes at once, or fails at once, with one exception: a server whose backlog is full
/// makes a non-blocking `connect` fail with `EAGAIN` (Linux; a blocking one sleeps on the listener). The socket stays
/// unconnected, and polling it says nothing (an unconnected stream socket polls as hung up), so this waits by
/// trying again: after 1 ms, doubling up to 50 ms, until `timeout`. A cancelled task stops waiting.
enum NonBlockingConnect {
    /// A non-blocking, close-on-exec socket of `type` connected to `address`; the caller owns it.
    ///
    /// - Throws: ``UnixSocketError`` as ``UnixSocketConnection/connect(to:timeout:)``, and `CancellationError`.
    nonisolated(nonsending) static func connect(to address: UnixSocketAddress, type: UnixSocketType, timeout: Duration?)
        async throws -> CInt
    {
        let fd: CInt
        do {
            fd = try Syscall.makeSocket(type, nonBlocking: true)
        } catch {
            throw UnixSocketError.from(error, operation: .socket, socket: address.description)
        }
        var pause = Duration.milliseconds(1)
        var deadline: ContinuousClock.Instant?
        while true {
            do throws(Errno) {
                try Syscall.connect(fd, to: address)
                return fd
            } catch .resourceTemporarilyUnavailable {
                let now = ContinuousClock.now
                let giveUp = deadline ?? timeout.map { now + $0 } ?? .now + .seconds(365 * 24 * 3600)
                deadline = giveUp
                guard now < giveUp else {
                    Syscall.close(fd)
                    throw UnixSocketConnection.connectError(
                        .resourceTemporarilyUnavailable, address: address, type: type)
                }
                do {
                    try await Task.sleep(for: min(pause, giveUp - now))
                } catch {
                    Syscall.close(fd)
                    throw error
                }
                pause = min(pause * 2, .milliseconds(50))
            } catch {
                Syscall.close(fd)
                throw UnixSocketConnection.connectError(error, address: address, type: type)
            }
        }
    }
}
