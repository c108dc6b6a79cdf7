import Foundation
import UDSKit

/// Waits until a server accepts connections at `path`; throws after `timeout` seconds.
public func waitForServer(at path: String, timeout: Double = 20) async throws {
    let address = try UnixSocketAddress(path)
    try await waitUntil("no server came up on \(path)", timeout: timeout) {
        guard let connection = try? UnixSocketConnection.connect(to: address) else { return false }
        connection.close()
        return true
    }
}

/// Starts a `MessageServer` at `path`, runs `body`, then shuts the server down and waits for it.
public func withRunningServer<T>(
    at path: String,
    configuration: MessageServer.Configuration = MessageServer.Configuration(),
    handler: MessageHandler,
    _ body: (MessageServer) async throws -> T
) async throws -> T {
    let server = MessageServer(address: try UnixSocketAddress(path), configuration: configuration, handler: handler)
    return try await withRunning(server, body)
}

/// Starts a framed `MessageServer` at `path`, runs `body`, then shuts the server down and waits for it.
public func withRunningServer<T>(
    at path: String,
    configuration: MessageServer.Configuration = MessageServer.Configuration(),
    framedHandler: FramedHandler,
    _ body: (MessageServer) async throws -> T
) async throws -> T {
    let server = MessageServer(
        address: try UnixSocketAddress(path), configuration: configuration, framedHandler: framedHandler)
    return try await withRunning(server, body)
}

extension MessageServer.Configuration {
    /// The default configuration with ``socketType`` `.seqPacket`: a seqpacket server for a framed handler.
    public static var seqPacket: Self {
        var configuration = Self()
        configuration.socketType = .seqPacket
        return configuration
    }
}

private func withRunning<T>(_ server: MessageServer, _ body: (MessageServer) async throws -> T) async throws -> T {
    try await server.start()
    let running = Task { try await server.run() }
    do {
        let result = try await body(server)
        await server.shutdown()
        try await running.value
        return result
    } catch {
        await server.shutdown()
        _ = try? await running.value
        throw error
    }
}
