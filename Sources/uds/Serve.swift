import ArgumentParser
import Logging
import ServiceLifecycle
import SystemPackage
import UDSKit
import UnixSignals

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",  // spelled out: deriving it from the type costs ~0.1 ms at start
        abstract: "Listen on a socket file and answer each message.",
        discussion: """
            Each connection carries one message: every byte until the client closes its side. By default \
            the message is printed on standard output and the client gets the acknowledgement, the number \
            of bytes received and a newline. Messages are printed whole, one after another, in memory bounded \
            whatever their size (past 16 MiB in all they wait in a temporary file in TMPDIR), and each is \
            acknowledged once it has arrived, not once it is printed. SIGTERM or SIGINT stops accepting, lets \
            messages in flight finish, removes the socket file and exits 0.

            A stale socket file at PATH (one nobody answers on) is replaced. A live server's socket, or \
            anything that is not a socket, is left alone and uds exits with status 6.

              uds serve /tmp/app.sock
              uds serve /tmp/app.sock --quiet --reply echo
              uds serve /tmp/app.sock --exec 'wc -l'          # reply with the script's output
              uds serve /tmp/app.sock --exec 'cat <&3'        # reply with the file passed by uds send --fd
            """
    )

    enum ReplyMode: String, ExpressibleByArgument, CaseIterable {
        case ack, echo, none
    }

    @Argument(help: "The socket file to listen on (or @name for a Linux abstract name).")
    var path: String

    @Option(help: "What to answer: ack (the byte count and a newline), echo (the message), none (just close).")
    var reply: ReplyMode = .ack

    @Option(
        help: ArgumentHelp(
            "Run COMMAND with /bin/sh for each message, the message on its standard input; reply with its output.",
            discussion: """
                A command that exits non-zero gets the client an error reply. Overrides --reply. Files the client \
                passed with the message (uds send --fd) are the command's descriptors 3, 4, 5, …, and UDS_FDS in \
                its environment says how many (0 when none; always 0 with --framed and --seqpacket).
                """,
            valueName: "COMMAND"))
    var exec: String?

    @Option(help: ArgumentHelp("Permissions of the socket file, in octal.", valueName: "octal"))
    var mode: String = "0600"

    @Option(
        help: ArgumentHelp(
            "Largest message accepted (64MiB, 1G, 4096…); with --framed or --seqpacket, largest frame or packet (default 16MiB); with --datagram, largest datagram (default 64KiB).",
            valueName: "size"))
    var maxSize: ByteCount?

    @Option(
        help: ArgumentHelp(
            "Group of the socket file (a name or a number), so that with --mode 0660 its members may connect.",
            valueName: "group"))
    var group: String?

    @Option(
        name: [.customLong("allow-uid"), .customLong("allow-user")],
        help: ArgumentHelp(
            "Also admit this user, a name or an ID (repeatable). By default only the server's own user is admitted.",
            valueName: "user"))
    var allowUid: [String] = []

    @Option(
        name: [.customLong("allow-gid"), .customLong("allow-group")],
        help: ArgumentHelp(
            "Also admit members of this group, a name or an ID (repeatable).",
            discussion:
                "Supplementary members count on connections (SO_PEERGROUPS); a --datagram sender is matched on its primary group only, since a datagram carries no group list.",
            valueName: "group"))
    var allowGid: [String] = []

    @Flag(
        help:
            "Admit every peer that can reach the socket; the file's mode is then the only gate. On an abstract name (@name) there is no file, so anyone in the network namespace can connect: uds warns."
    )
    var allowAny = false

    @Flag(
        help:
            "Zero-downtime restart: take the listening socket from a `uds serve --handover` already running on PATH (it drains and exits 0, leaving the file), and offer ours to the next one."
    )
    var handover = false

    @Flag(
        help:
            "Take the listening socket from systemd socket activation (LISTEN_FDS) instead of binding PATH; PATH names it in logs."
    )
    var systemd = false

    @Option(
        help: ArgumentHelp(
            "With --systemd, the socket's FileDescriptorName= to take (default: the first).", valueName: "name"))
    var systemdName: String?

    @Option(help: ArgumentHelp("Connections open at once; past it new clients wait.", valueName: "count"))
    var maxConnections: Int = 16_384

    @Option(
        help: ArgumentHelp(
            "Seconds a client may send nothing while its message (or frame) is unfinished; 0 for no limit.",
            valueName: "seconds"))
    var idleTimeout: Double = 30

    @Option(
        help: ArgumentHelp("Seconds a client may take to send a whole message; 0 for no limit.", valueName: "seconds"))
    var deadline: Double = 600

    @Option(help: ArgumentHelp("Seconds that messages in flight get to finish at shutdown.", valueName: "seconds"))
    var grace: Double = 10

    @Flag(
        help:
            "Keep connections open for any number of frames (4-byte big-endian length, then the payload), each answered as --reply or --exec says."
    )
    var framed = false

    @Flag(
        help:
            "Listen on a SOCK_SEQPACKET socket: connections stay open, each packet is a message, answered as --reply or --exec says with one packet."
    )
    var seqpacket = false

    @Flag(
        help:
            "Receive on a SOCK_DGRAM socket: each datagram is a message; a sender with an address gets the answer as a datagram."
    )
    var datagram = false

    @Flag(name: .shortAndLong, help: "Do not print messages on standard output.")
    var quiet = false

    @Flag(name: .short, help: "Log each connection (same as --log-level debug).")
    var verbose = false

    @Option(help: "Least severe log level written to standard error: trace, debug, info, notice, warning, error.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard parsedMode != nil else { throw ValidationError("--mode must be octal permissions such as 0600 or 0660") }
        if let maxSize, maxSize.value <= 0 { throw ValidationError("--max-size must be positive") }
        guard grace >= 0 else { throw ValidationError("--grace must not be negative") }
        guard idleTimeout >= 0, deadline >= 0 else { throw ValidationError("timeouts must not be negative") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive") }
        if [framed, seqpacket, datagram].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --framed, --seqpacket and --datagram")
        }
        if datagram && (handover || systemd) {
            throw ValidationError("--datagram binds PATH itself: not with --handover or --systemd")
        }
    }

    private var parsedMode: FilePermissions? {
        guard let bits = UInt16(mode, radix: 8), bits <= 0o777 else { return nil }
        return FilePermissions(rawValue: CModeT(bits))
    }

    func run() async throws {
        let level = verbose ? min(logLevel, .debug) : logLevel
        let logger = Logger(label: "uds") { _ in StandardErrorLogHandler(logLevel: level) }
        do {
            let address = try UnixSocketAddress(path)
            var configuration = MessageServer.Configuration()
            configuration.socketPermissions = parsedMode!
            if let maxSize {
                configuration.maximumMessageSize = maxSize.value
                configuration.maximumStreamedMessageSize = maxSize.value
                configuration.maximumFrameSize = maxSize.value
            } else if !quiet && exec == nil {
                // Printed messages stream now, but keep the limit they had when they were buffered.
                configuration.maximumStreamedMessageSize = configuration.maximumMessageSize
            }
            configuration.shutdownGracePeriod = .milliseconds(Int64(grace * 1000))
            configuration.socketGroupID = try group.map { name throws(CommandLineFailure) in
                try AccountNames.groupID(name, option: "--group")
            }
            configuration.maximumConnections = maxConnections
            if systemd { configuration.systemdSocketName = systemdName ?? "" }
            configuration.handsOver = handover
            configuration.idleTimeout = idleTimeout > 0 ? .milliseconds(Int64(idleTimeout * 1000)) : nil
            configuration.messageDeadline = deadline > 0 ? .milliseconds(Int64(deadline * 1000)) : nil
            let userIDs = try allowUid.map { name throws(CommandLineFailure) in
                try AccountNames.userID(name, option: "--allow-user")
            }
            let groupIDs = try allowGid.map { name throws(CommandLineFailure) in
                try AccountNames.groupID(name, option: "--allow-group")
            }
            configuration.authorization =
                allowAny
                ? .anyone : AuthorizationPolicy.sameUser.allowing(userIDs: userIDs).allowing(groupIDs: groupIDs)
            configuration.allowsUnprotectedAbstractSocket = allowAny  // --allow-any says it in so many words
            let server: any Service =
                if framed {
                    MessageServer(
                        address: address, configuration: configuration, logger: logger,
                        framedHandler: makeFramedHandler())
                } else if seqpacket {
                    MessageServer(
                        address: address, configuration: configuration, logger: logger,
                        seqPacketHandler: makeFramedHandler())
                } else if datagram {
                    makeDatagramService(address: address, configuration: configuration, logger: logger)
                } else {
                    MessageServer(
                        address: address, configuration: configuration, logger: logger, handler: makeHandler())
                }
            // The server starts inside the group, once the group handles SIGTERM and SIGINT: a signal that comes as
            // soon as the socket answers stops it gracefully instead of killing it and leaving a stale file.
            // The server's run() also ends after handing its socket to a successor: that is a clean end too.
            var groupConfiguration = ServiceGroupConfiguration(
                services: [.init(service: server, successTerminationBehavior: .gracefullyShutdownGroup)],
                logger: Logger(label: "uds.lifecycle") { _ in SwiftLogNoOpLogHandler() })
            groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint]
            let group = ServiceGroup(configuration: groupConfiguration)
            // SIGUSR1 prints a one-line summary; so does the end.
            let summaries = Task {
                for await _ in await UnixSignalsSequence(trapping: .sigusr1) {
                    if let server = server as? MessageServer { logger.notice("statistics: \(server.statistics)") }
                }
            }
            try await group.run()
            await MessagePrinter.standardOutput.finish()  // messages acknowledged but not printed yet
            summaries.cancel()
            if let server = server as? MessageServer { logger.notice("statistics: \(server.statistics)") }
        } catch {
            throw failure(error)
        }
    }

    private func makeHandler() -> MessageHandler {
        guard exec != nil || !quiet else {
            switch reply {
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
        return .buffered(makeReply())
    }

    private func makeFramedHandler() -> FramedHandler {
        guard exec != nil || !quiet else {
            switch reply {
            case .ack: return .acknowledge
            case .echo: return .echo
            case .none: return .discard
            }
        }
        let answer = makeReply()
        let replies = exec != nil || reply != .none
        return .connection { connection in
            for try await frame in connection.inbound {
                let reply: Message
                do {
                    reply = try await answer(frame, connection.context)
                } catch {
                    reply = Acknowledgement.errorReply((error as? MessageRejection)?.reason ?? "the handler failed")
                }
                if replies { try await connection.send(reply) }
            }
        }
    }

    /// Prints the message (unless --quiet) and answers it as --exec or --reply says.
    private func makeReply() -> @Sendable (Message, MessageContext) async throws -> Message {
        let printer = quiet ? nil : MessagePrinter.standardOutput
        if let exec {
            let command = ShellCommand(exec)
            return { message, context in
                try printer?.print(message)
                // Framed connections take no descriptors, so there a command always gets UDS_FDS=0.
                return try await command.run(input: message, descriptors: context.descriptors, logger: context.logger)
            }
        }
        let reply = self.reply
        return { message, _ in
            try printer?.print(message)
            switch reply {
            case .ack: return Acknowledgement.reply(forByteCount: message.count)
            case .echo: return message
            case .none: return .empty
            }
        }
    }
}
