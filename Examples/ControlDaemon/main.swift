// A daemon with a control socket: JSON requests over framed connections, answered in order; SIGTERM stops it
// gracefully. Try: swift run control-daemon /tmp/daemon.sock
//                  uds send --framed --expect any /tmp/daemon.sock '{"command":"status"}'
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UDSKit
import UnixSignals

struct Request: Codable, Sendable { var command: String }
struct Response: Codable, Sendable {
    var ok: Bool
    var detail: String
}

/// The daemon's state: what the control socket reports and changes.
final class DaemonState: Sendable {
    private let reloads = Atomic<Int>(0)
    let started = Date()
    func reload() -> Int { reloads.add(1, ordering: .relaxed).newValue }
    var reloadCount: Int { reloads.load(ordering: .relaxed) }
}

@main
struct ControlDaemon {
    static func main() async throws {
        let path = CommandLine.arguments.dropFirst().first ?? "/tmp/control-daemon.sock"
        let logger = Logger(label: "control-daemon")
        let state = DaemonState()
        let stop = Mutex<(@Sendable () -> Void)?>(nil)
        let handler = FramedHandler.requests(decoding: Request.self) { request, context in
            context.logger.info("control request", metadata: ["command": "\(request.command)"])
            switch request.command {
            case "status":
                let uptime = Int(Date().timeIntervalSince(state.started))
                return Response(ok: true, detail: "up \(uptime) s, \(state.reloadCount) reloads")
            case "reload":
                return Response(ok: true, detail: "reload \(state.reload()) done")
            case "stop":
                stop.withLock { $0 }?()
                return Response(ok: true, detail: "stopping")
            default:
                throw MessageRejection("unknown command \(request.command); try status, reload or stop")
            }
        }
        let server = MessageServer(address: try UnixSocketAddress(path), logger: logger, framedHandler: handler)
        try await server.start()
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // "stop" shuts the whole group down gracefully, as SIGTERM does.
        stop.withLock { $0 = { Task { await group.triggerGracefulShutdown() } } }
        try await group.run()
    }
}
