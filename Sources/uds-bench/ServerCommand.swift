import ArgumentParser
import Logging
import ServiceLifecycle
import UDSKit
import UnixSignals

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Serve the eof protocol until SIGTERM or SIGINT.")

    /// What the server speaks: one message per connection, acknowledged, or frames, echoed.
    enum WireProtocol: String, ExpressibleByArgument, CaseIterable {
        case eof, framed
    }

    @Option var `protocol`: WireProtocol
    @Option var socket: String

    func run() async throws {
        Syscall.raiseOpenFileLimit()
        let logger = Logger(label: "uds-bench") { _ in StreamLogHandler.standardError(label: "uds-bench") }
        var configuration = MessageServer.Configuration()
        configuration.maximumFrameSize = 64 * 1024 * 1024  // the contract's largest payload
        configuration.maximumConnections = 1 << 20  // fanin holds 10,000 connections, and the contract sets no limit
        let address = try UnixSocketAddress(socket)
        let server =
            `protocol` == .eof
            ? MessageServer(address: address, configuration: configuration, logger: logger, handler: .acknowledge)
            : MessageServer(address: address, configuration: configuration, logger: logger, framedHandler: .echo)
        var quiet = Logger(label: "uds-bench.lifecycle")
        quiet.logLevel = .error
        try await ServiceGroup(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: quiet
        ).run()
    }
}
