import Logging
import ServiceLifecycle
import UDSKit

/// `uds serve --datagram`: binds a datagram socket, hands each datagram to `answer`, and sends the reply back to the
/// sender when it has an address. Ends on a graceful shutdown, closing the socket (which removes its file).
struct DatagramService: Service {
    /// Binds the socket; called in `run()`, once the service group handles SIGTERM, so that an early signal still
    /// removes the file.
    let bind: @Sendable () throws -> DatagramSocket
    let maximumSize: Int
    let answer: @Sendable (Datagram) async throws -> Message?
    let logger: Logger

    func run() async throws {
        let socket = try bind()
        let open = Locked<DatagramSocket?>(socket)
        var counts = (received: 0, tooLarge: 0)
        var failure: (any Error)?
        await withGracefulShutdownHandler {
            while open.withLock({ $0 != nil }) {
                let datagram: Datagram
                do {
                    switch try await socket.receiveOrTooLarge(maximumSize: maximumSize, descriptorLimit: 16) {
                    case .datagram(let received):
                        datagram = received
                    case .tooLarge(let error, let sender):
                        counts.tooLarge += 1
                        logger.warning("dropped a datagram", metadata: ["uds.error": "\(error)"])
                        // Tell a sender that waits for an answer, as a stream server does past --max-size.
                        if let sender {
                            try? await socket.send(
                                Acknowledgement.errorReply("message exceeds the limit of \(maximumSize) bytes"),
                                to: sender)
                        }
                        continue
                    }
                } catch {
                    if open.withLock({ $0 != nil }) { failure = error }  // not the close at shutdown
                    break
                }
                counts.received += 1
                await respond(to: datagram, on: socket)
            }
        } onGracefulShutdown: {
            open.withLock { $0 = nil }
            socket.close()
        }
        socket.close()
        logger.notice(
            "statistics: datagrams \(counts.received), refused \(socket.refusedCount) (authorization policy), too large \(counts.tooLarge)"
        )
        if let failure { throw failure }
    }

    /// Runs `answer` and sends its reply, or an error reply when it throws, to a sender that has an address.
    private func respond(to datagram: Datagram, on socket: DatagramSocket) async {
        let reply: Message?
        do {
            reply = try await answer(datagram)
        } catch {
            logger.warning("handler failed", metadata: ["uds.error": "\(error)"])
            reply = Acknowledgement.errorReply((error as? MessageRejection)?.reason ?? "the handler failed")
        }
        guard let reply, let sender = datagram.sender else { return }
        do {
            try await socket.send(reply, to: sender)
        } catch {
            logger.warning(
                "could not answer a datagram", metadata: ["uds.error": "\(error)", "uds.sender": "\(sender)"])
        }
    }
}
