// varlink-ping: an example varlink service on UDSKit, serving org.example.ping. Its Swift types, its error enum, the
// protocol the service implements and the typed client are generated at build time from org.example.ping.varlink by
// the VarlinkGenerator plugin (see Package.swift), so calling and serving the interface are checked by the compiler.
//
//   varlink-ping unix:/tmp/ping.sock &                  # serves
//   varlink-ping call unix:/tmp/ping.sock hi            # Ping, Count with more, and the NotReady error, typed
//   uds varlink call unix:/tmp/ping.sock org.example.ping.Ping '{"ping": "hi"}'     # {"pong":"hi"}
//   uds varlink call unix:/tmp/ping.sock org.example.ping.Count '{"count": 3}' --more
//   python3 -m varlink.cli call unix:/tmp/ping.sock/org.example.ping.Ping '{"ping": "hi"}'
//   varlink-ping framed-echo /tmp/echo.sock             # not varlink: UDSKit's framed request/reply, for the bench
import Logging
import ServiceLifecycle
import SystemPackage
import UDSKit
import UDSVarlink
import UnixSignals

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The service: one method per method of org.example.ping, as the generated `OrgExamplePingServer` requires.
struct Pinger: OrgExamplePingServer {
    // nonisolated(nonsending), as the protocol's requirements: a call runs where the connection's task runs (its
    // event loop), with no task switch in and out of the method.
    nonisolated(nonsending) func ping(
        _ parameters: OrgExamplePing.PingParameters, call: VarlinkCall,
        replies: VarlinkReplyStream<OrgExamplePing.PingReply>
    ) async throws -> OrgExamplePing.PingReply {
        OrgExamplePing.PingReply(pong: parameters.ping)
    }

    /// A stream: `count` replies, each but the last with "continues"; `send` waits while the client is not reading.
    nonisolated(nonsending) func count(
        _ parameters: OrgExamplePing.CountParameters, call: VarlinkCall,
        replies: VarlinkReplyStream<OrgExamplePing.CountReply>
    ) async throws -> OrgExamplePing.CountReply {
        guard parameters.count > 0 else { throw OrgExamplePing.Error.notReady(retryAfter: 1) }
        for number in 0..<parameters.count - 1 { try await replies.send(OrgExamplePing.CountReply(number: number)) }
        return OrgExamplePing.CountReply(number: parameters.count - 1)
    }
}

func say(_ line: String) { _ = try? FileDescriptor.standardOutput.writeAll(Array((line + "\n").utf8)) }

/// `varlink-ping call ADDRESS TEXT`: the generated client against any org.example.ping service.
func call(_ address: VarlinkAddress, _ text: String) async throws {
    let client = OrgExamplePingClient(try await VarlinkClient.connect(to: address))
    say("pong: \(try await client.ping(OrgExamplePing.PingParameters(ping: text)).pong)")
    var numbers: [String] = []
    for try await reply in client.count(more: OrgExamplePing.CountParameters(count: 3)) {
        numbers.append("\(reply.number)")
    }
    say("count: \(numbers.joined(separator: " "))")
    do {
        _ = try await client.count(OrgExamplePing.CountParameters(count: 0))
    } catch OrgExamplePing.Error.notReady(let retryAfter) {
        say("not ready: retry after \(retryAfter) s")
    }
    await client.client.close()
}

let arguments = CommandLine.arguments
if arguments.count == 4, arguments[1] == "call", let address = try? VarlinkAddress(arguments[2]) {
    try await call(address, arguments[3])
    exit(0)
}
var logger = Logger(label: "varlink-ping")
logger.logLevel = .warning
if arguments.count == 3, arguments[1] == "framed-echo" {
    // The baseline of Scripts/bench-varlink.sh: each length-prefixed frame answered with itself by a request
    // handler, on the event loop as the varlink server's handlers run, with everything but JSON and varlink alike.
    var configuration = MessageServer.Configuration()
    configuration.runsHandlersOnEventLoop = true
    let server = MessageServer(
        address: try UnixSocketAddress(arguments[2]), configuration: configuration, logger: logger,
        framedHandler: .requests { message, _ in message })
    try await server.start()
    say("listening on \(arguments[2])")
    try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    exit(0)
}
guard arguments.count == 2, let address = try? VarlinkAddress(arguments[1]) else {
    _ = try? FileDescriptor.standardError.writeAll(
        Array(
            ("usage: varlink-ping unix:/path|unix:@name\n       varlink-ping call unix:/path|unix:@name TEXT\n"
                + "       varlink-ping framed-echo PATH\n").utf8))
    exit(64)
}

var service = VarlinkService(vendor: "UDSKit", product: "varlink-ping", version: "1", url: "https://varlink.org")
try service.addInterface(OrgExamplePing.self, implementation: Pinger())
let server = MessageServer(address: address.socket, logger: logger, varlinkService: service)
try await server.start()
say("listening on \(address)")
try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
