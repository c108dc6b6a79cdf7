import Logging
import ServiceLifecycle
import UDSKit

extension Serve {
    /// The service that `uds serve --datagram` runs: a bound datagram socket, each datagram printed and answered.
    func makeDatagramService(
        address: UnixSocketAddress, configuration: MessageServer.Configuration, logger: Logger
    ) -> DatagramService {
        let bind: @Sendable () throws -> DatagramSocket = {
            let socket = try DatagramSocket.bind(
                to: address, permissions: configuration.socketPermissions, groupID: configuration.socketGroupID,
                authorization: configuration.authorization,
                allowsUnprotectedAbstractSocket: configuration.allowsUnprotectedAbstractSocket)
            logger.info("receiving datagrams on \(address)")
            if address.isAbstract && configuration.authorization.allowsAnyone {
                // MessageServer logs this itself; a DatagramSocket has no logger to do it.
                logger.warning(
                    "anyone in the network namespace can send to \(address): an abstract name has no file permissions, and --allow-any admits every sender"
                )
            }
            return socket
        }
        let printer = quiet ? nil : MessagePrinter.standardOutput
        let command = exec.map(ShellCommand.init)
        let reply = self.reply
        return DatagramService(
            bind: bind, maximumSize: maxSize?.value ?? 64 * 1024,
            answer: { datagram in
                let message = datagram.message
                try printer?.print(message)
                if let command {
                    return try await command.run(input: message, descriptors: datagram.descriptors, logger: logger)
                }
                switch reply {
                case .ack: return Acknowledgement.reply(forByteCount: message.count)
                case .echo: return message
                case .none: return nil
                }
            }, logger: logger)
    }
}
