import ArgumentParser
import Logging
import ServiceLifecycle
import UDSKit
import UnixSignals

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

    @OptionGroup var socket: SocketPath

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

    @Flag(help: "The kind of socket; without one, each connection carries one message.")
    var transport: Transport?

    @OptionGroup(title: "Access") var access: ServeAccess

    @OptionGroup(title: "Limits") var limits: ServeLimits

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

    @Flag(name: .shortAndLong, help: "Do not print messages on standard output.")
    var quiet = false

    @Flag(name: .short, help: "Log each connection (same as --log-level debug).")
    var verbose = false

    @Option(help: "Least severe log level written to standard error: trace, debug, info, notice, warning, error.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        if transport == .datagram && (handover || systemd) {
            throw ValidationError("--datagram binds PATH itself: not with --handover or --systemd")
        }
    }

    func run() async throws {
        let level = verbose ? min(logLevel, .debug) : logLevel
        let logger = Logger(label: "uds") { _ in StandardErrorLogHandler(logLevel: level) }
        do {
            let server = try makeServer(address: socket.address(), logger: logger)
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
                    logger.notice("statistics: \(Self.statistics(of: server))")
                }
            }
            try await group.run()
            await MessagePrinter.standardOutput.finish()  // messages acknowledged but not printed yet
            summaries.cancel()
            logger.notice("statistics: \(Self.statistics(of: server))")
        } catch {
            throw failure(error)
        }
    }

    /// The server the options describe: a ``MessageServer`` of the chosen socket type, or a ``DatagramServer``.
    private func makeServer(address: UnixSocketAddress, logger: Logger) throws -> any Service {
        guard transport != .datagram else {
            var configuration = DatagramServer.Configuration()
            configuration.socketPermissions = access.permissions!  // checked in validate()
            configuration.socketGroupID = try access.groupID()
            configuration.authorization = try access.authorization()
            configuration.allowsUnprotectedAbstractSocket = access.allowAny  // --allow-any says it in so many words
            if let maxSize = limits.maxSize { configuration.maximumDatagramSize = maxSize.value }
            return DatagramServer(
                address: address, configuration: configuration, logger: logger,
                handler: makeDatagramHandler(logger: logger))
        }
        var configuration = MessageServer.Configuration()
        configuration.socketType = transport == .seqpacket ? .seqPacket : .stream
        configuration.socketPermissions = access.permissions!  // checked in validate()
        configuration.socketGroupID = try access.groupID()
        configuration.authorization = try access.authorization()
        configuration.allowsUnprotectedAbstractSocket = access.allowAny
        limits.apply(to: &configuration, printsMessages: !quiet && exec == nil)
        if systemd { configuration.systemdSocketName = systemdName ?? "" }
        configuration.handsOver = handover
        return transport == nil
            ? MessageServer(address: address, configuration: configuration, logger: logger, handler: makeHandler())
            : MessageServer(
                address: address, configuration: configuration, logger: logger, framedHandler: makeFramedHandler())
    }

    private static func statistics(of server: any Service) -> String {
        switch server {
        case let server as MessageServer: return "\(server.statistics)"
        case let server as DatagramServer: return "\(server.statistics)"
        default: return ""
        }
    }
}
