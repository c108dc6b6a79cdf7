import ArgumentParser
import SystemPackage
import UDSKit
import UDSVarlink

/// `uds varlink`: talks to varlink services (systemd's and any other), and checks interface files.
struct VarlinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "varlink",
        abstract: "Call varlink services and check varlink interface files.",
        discussion: """
            ADDRESS is unix:/path, unix:@name (an abstract socket) or a plain socket path.

              uds varlink info unix:/run/systemd/userdb/io.systemd.Multiplexer
              uds varlink interface unix:/tmp/ping.sock org.example.ping
              uds varlink call unix:/tmp/ping.sock org.example.ping.Ping '{"ping": "hi"}'
              uds varlink call unix:/tmp/ping.sock org.example.ping.Watch '{}' --more
              uds varlink validate org.example.ping.varlink

            An error reply prints one line on standard error, `uds: NAME {parameters}`, and exits with 2.
            """,
        subcommands: [VarlinkInfo.self, VarlinkInterfaceCommand.self, VarlinkCall.self, VarlinkValidate.self]
    )
}

/// The address argument of the subcommands that connect.
struct VarlinkAddressOptions: ParsableArguments {
    @Argument(help: "The service: unix:/path, unix:@name, or a socket path.")
    var address: String

    func connect() async throws -> VarlinkClient {
        let text = address.hasPrefix("unix:") ? address : "unix:" + address
        return try await VarlinkClient.connect(to: try VarlinkAddress(text))
    }
}

/// Runs `body`; an error reply prints one line and exits with 2, other errors as the rest of `uds` does.
func runVarlink(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as VarlinkError {
        printError("uds: \(error)")
        throw ExitCode(ExitStatus.notAcknowledged)
    } catch {
        throw failure(error)
    }
}

struct VarlinkInfo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print a service's vendor, product, version, URL and interfaces.")
    @OptionGroup var options: VarlinkAddressOptions

    func run() async throws {
        try await runVarlink {
            let client = try await options.connect()
            let info = try await client.call("org.varlink.service.GetInfo", parameters: nil)
            for key in ["vendor", "product", "version", "url"] {
                print(
                    "\(key == "url" ? "URL" : key.prefix(1).uppercased() + key.dropFirst()): \(info[key]?.stringValue ?? "")"
                )
            }
            print("Interfaces:")
            if case .array(let interfaces)? = info["interfaces"] {
                for interface in interfaces { print("  \(interface.stringValue ?? interface.jsonText)") }
            }
            await client.close()
        }
    }
}

struct VarlinkInterfaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interface", abstract: "Print the definition (IDL) of one of a service's interfaces.")
    @OptionGroup var options: VarlinkAddressOptions
    @Argument(help: "The interface, such as org.varlink.service.")
    var interface: String

    func run() async throws {
        try await runVarlink {
            let client = try await options.connect()
            let reply = try await client.call(
                "org.varlink.service.GetInterfaceDescription", parameters: ["interface": .string(interface)])
            let description = reply["description"]?.stringValue ?? ""
            print(description, terminator: description.hasSuffix("\n") ? "" : "\n")
            await client.close()
        }
    }
}

struct VarlinkCall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a method and print each reply's parameters as one line of JSON.",
        discussion: "Needs no introspection: the call is sent as given, so services that do not answer "
            + "GetInterfaceDescription can be called too.")
    @OptionGroup var options: VarlinkAddressOptions
    @Argument(help: "The fully qualified method, such as org.varlink.service.GetInfo.")
    var method: String
    @Argument(help: "The parameters, a JSON object. Default {}.")
    var parameters: String = "{}"
    @Flag(help: "Ask for several replies and print each as it comes.")
    var more = false
    @Flag(help: "Ask for no reply; returns once the call is written.")
    var oneway = false

    func validate() throws {
        if more && oneway { throw ValidationError("--more and --oneway exclude each other") }
    }

    func run() async throws {
        let parsed: JSONValue
        do {
            parsed = try JSONValue(parsing: parameters)
        } catch {
            throw ValidationError("the parameters are not JSON: \(parameters)")
        }
        guard case .object = parsed else { throw ValidationError("the parameters must be a JSON object") }
        try await runVarlink {
            let client = try await options.connect()
            if oneway {
                try await client.callOneway(method, parsed)
            } else if more {
                for try await reply in client.callMore(method, parameters: parsed) { print(reply.jsonText) }
            } else {
                print(try await client.call(method, parameters: parsed).jsonText)
            }
            await client.close()
        }
    }
}

struct VarlinkValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a varlink interface file; print FILE:LINE:COLUMN: problem and exit 1 if it is wrong.")
    @Argument(help: "The .varlink file.")
    var file: String

    func run() async throws {
        let text: String
        do {
            text = try readWholeFile(file)
        } catch {
            throw failure(error)
        }
        do {
            let interface = try VarlinkInterface(parsing: text)
            print(
                "\(file): interface \(interface.name): \(interface.types.count) types, "
                    + "\(interface.methods.count) methods, \(interface.errors.count) errors")
        } catch {
            printError("\(file):\(error)")
            throw ExitCode(ExitStatus.failure)
        }
    }
}

/// The contents of the file at `path`, as UTF-8.
private func readWholeFile(_ path: String) throws -> String {
    let descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
    return try descriptor.closeAfter {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0) }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
