import ArgumentParser
import Logging
import ServiceLifecycle
import UDSKit
import UnixSignals

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Serve the eof protocol until SIGTERM or SIGINT.")

    @Option var `protocol`: String
    @Option var socket: String

    func run() async throws {
        guard `protocol` == "eof" else {
            throw ValidationError("protocol \(`protocol`) is not implemented by uds-bench yet (only eof)")
        }
        ResourceLimits.raiseOpenFileLimit()
        let configuration = MessageServer.Configuration()
        let logger = Logger(label: "uds-bench") { _ in StreamLogHandler.standardError(label: "uds-bench") }
        let server = MessageServer(
            address: try UnixSocketAddress(socket), configuration: configuration, logger: logger, handler: .acknowledge)
        try await server.start()
        var quiet = Logger(label: "uds-bench.lifecycle")
        quiet.logLevel = .error
        try await ServiceGroup(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: quiet
        ).run()
    }
}
