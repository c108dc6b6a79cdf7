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
        await withGracefulShutdownHandler {
            while open.withLock({ $0 != nil }) {
                let datagram: Datagram
                do {
                    switch try await socket.receiveOrTooLarge(maximumSize: maximumSize, descriptorLimit: 16) {
                    case .datagram(let received):
                        datagram = received
                    case .tooLarge(let error, let sender):
                        logger.warning("dropped a datagram", metadata: ["uds.error": "\(error)"])
                        // Tell a sender that waits for an answer, as a stream server does past --max-size.
                        if let sender {
                            try? await socket.send(
                                Acknowledgement.errorReply("message exceeds the limit of \(maximumSize) bytes"), to: sender)
                        }
                        continue
                    }
                } catch {
                    if open.withLock({ $0 != nil }) { logger.error("receive failed", metadata: ["uds.error": "\(error)"]) }
                    break
                }
                do {
                    guard let reply = try await answer(datagram), let sender = datagram.sender else { continue }
                    try await socket.send(reply, to: sender)
                } catch {
                    logger.warning(
                        "could not answer a datagram",
                        metadata: ["uds.error": "\(error)", "uds.sender": "\(datagram.sender?.description ?? "unbound")"])
                }
            }
        } onGracefulShutdown: {
            open.withLock { $0 = nil }
            socket.close()
        }
        socket.close()
    }
}
