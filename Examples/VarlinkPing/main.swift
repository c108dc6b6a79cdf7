// varlink-ping: an example varlink service on UDSKit, serving org.example.ping (org.example.ping.varlink).
//
//   varlink-ping unix:/tmp/ping.sock &
//   uds varlink call unix:/tmp/ping.sock org.example.ping.Ping '{"ping": "hi"}'     # {"pong":"hi"}
//   uds varlink call unix:/tmp/ping.sock org.example.ping.Count '{"count": 3}' --more
//   python3 -m varlink.cli call unix:/tmp/ping.sock/org.example.ping.Ping '{"ping": "hi"}'
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

struct Ping: Codable, Sendable { var ping: String }
struct Pong: Codable, Sendable { var pong: String }
struct Count: Codable, Sendable { var count: Int }
struct Number: Codable, Sendable { var number: Int }

/// The interface, as in org.example.ping.varlink (kept here so that the executable needs no resource files).
let idl = """
    # The tests' ping interface.
    interface org.example.ping

    method Ping(ping: string) -> (pong: string)
    method Count(count: int) -> (number: int)
    error NotReady (retry_after: int)

    """

func say(_ line: String) { _ = try? FileDescriptor.standardOutput.writeAll(Array((line + "\n").utf8)) }

let arguments = CommandLine.arguments
guard arguments.count == 2, let address = try? VarlinkAddress(arguments[1]) else {
    _ = try? FileDescriptor.standardError.writeAll(Array("usage: varlink-ping unix:/path|unix:@name\n".utf8))
    exit(64)
}

var service = VarlinkService(vendor: "UDSKit", product: "varlink-ping", version: "1", url: "https://varlink.org")
try service.addInterface(idl) { methods in
    methods.method("Ping") { (request: Ping, _) in Pong(pong: request.ping) }
    // A stream: `count` replies, each but the last with "continues"; `send` waits while the client is not reading.
    methods.streamingMethod("Count") { (request: Count, _, replies: VarlinkReplyStream<Number>) in
        guard request.count > 0 else {
            throw VarlinkError(name: "org.example.ping.NotReady", parameters: ["retry_after": 1])
        }
        for number in 0..<request.count - 1 { try await replies.send(Number(number: number)) }
        return Number(number: request.count - 1)
    }
}
var logger = Logger(label: "varlink-ping")
logger.logLevel = .warning
let server = MessageServer(address: address.socket, logger: logger, varlinkService: service)
try await server.start()
say("listening on \(address)")
try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
