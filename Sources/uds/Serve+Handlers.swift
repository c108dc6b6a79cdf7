import Logging
import UDSKit

/// What `uds serve` does with each message, as --reply, --exec and --quiet say, for each kind of server.
extension Serve {
    func makeHandler() -> MessageHandler {
        if let builtIn = builtInReply {
            switch builtIn {
            case .ack: return .acknowledge
            case .echo: return .echo
            case .none: return .discard
            }
        }
        if exec == nil && reply != .echo {
            // Printing streams: the message goes into the printer's spool as it arrives (memory bounded whatever
            // its size), and the acknowledgement goes out once it is spooled, not once it is printed.
            let acknowledges = reply == .ack
            return .streaming { body, _ in
                let count = try await MessagePrinter.standardOutput.print(body)
                return acknowledges ? Acknowledgement.reply(forByteCount: count) : .empty
            }
        }
        let answer = makeAnswer()
        return .buffered { message, context in
            try await answer(message, context.descriptors, context.logger) ?? .empty
        }
    }

    func makeFramedHandler() -> FramedHandler {
        if let builtIn = builtInReply {
            switch builtIn {
            case .ack: return .acknowledge
            case .echo: return .echo
            case .none: return .discard
            }
        }
        let answer = makeAnswer()
        guard exec != nil || reply != .none else {
            return .connection { connection in  // print each frame, answer none
                for try await frame in connection.inbound { _ = try await answer(frame, [], connection.context.logger) }
            }
        }
        // Framed connections take no descriptors, so there a command always gets UDS_FDS=0.
        return .requests { frame, context in try await answer(frame, [], context.logger) ?? .empty }
    }

    func makeDatagramHandler(logger: Logger) -> DatagramServer.Handler {
        let answer = makeAnswer()
        return { datagram in try await answer(datagram.message, datagram.descriptors, logger) }
    }

    /// The reply a built-in handler gives when nothing is printed and no command runs; `nil` otherwise.
    private var builtInReply: ReplyMode? { exec == nil && quiet ? reply : nil }

    /// Prints the message (unless --quiet) and answers it as --exec or --reply says: `nil` for no answer.
    private func makeAnswer()
        -> @Sendable (Message, [ReceivedDescriptor], Logger) async throws -> Message?
    {
        let printer = quiet ? nil : MessagePrinter.standardOutput
        if let exec {
            let command = ShellCommand(exec)
            return { message, descriptors, logger in
                try printer?.print(message)
                return try await command.run(input: message, descriptors: descriptors, logger: logger)
            }
        }
        let reply = self.reply
        return { message, _, _ in
            try printer?.print(message)
            switch reply {
            case .ack: return Acknowledgement.reply(forByteCount: message.count)
            case .echo: return message
            case .none: return nil
            }
        }
    }
}
