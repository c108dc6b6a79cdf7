// varlink-certification: certifies a varlink implementation against UDSKit's, either side.
//
//   varlink-certification serve unix:/tmp/cert.sock     # serves org.varlink.certification until SIGTERM/SIGINT
//   varlink-certification client unix:/tmp/cert.sock    # runs the certification client; exit 0 only on all_ok
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

/// Writes `line` to standard output at once (unbuffered, so a test sees "Listening on" before the server exits).
func say(_ line: String) { _ = try? FileDescriptor.standardOutput.writeAll(Array((line + "\n").utf8)) }

func fail(_ message: String, code: Int32 = 1) -> Never {
    _ = try? FileDescriptor.standardError.writeAll(Array("varlink-certification: \(message)\n".utf8))
    exit(code)
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2, let mode = arguments.first, let addressText = arguments.last else {
    fail("usage: varlink-certification serve|client unix:/path|unix:@name", code: 2)
}
let address: VarlinkAddress
do {
    address = try VarlinkAddress(addressText)
} catch {
    fail("\(error)", code: 2)
}

switch mode {
case "serve":
    do {
        var configuration = MessageServer.Configuration()
        // The certification clients of other implementations may run as other users in CI containers.
        configuration.authorization = .anyone
        configuration.socketPermissions = [.ownerReadWrite, .groupReadWrite, .otherReadWrite]
        configuration.allowsUnprotectedAbstractSocket = true
        let server = MessageServer(
            address: address.socket, configuration: configuration, varlinkService: try CertificationServer().service())
        try await server.start()
        say("Listening on \(address)")
        let group = ServiceGroup(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "varlink-certification"))
        try await group.run()
    } catch {
        fail("\(error)")
    }
case "client":
    do {
        let client = try await VarlinkClient.connect(to: address)
        let allOK = try await CertificationClient(client: client) { say($0) }.run()
        await client.close()
        guard allOK else { fail("End did not say all_ok") }
        say("Certification passed")
    } catch {
        fail("certification failed: \(error)")
    }
default:
    fail("unknown mode '\(mode)': use serve or client", code: 2)
}
