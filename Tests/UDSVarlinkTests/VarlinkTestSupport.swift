import Foundation
import UDSKit
import UDSKitTestSupport
import UDSVarlink

struct Ping: Codable, Sendable, Equatable { var ping: String }
struct Pong: Codable, Sendable, Equatable { var pong: String }
struct Count: Codable, Sendable { var count: Int }
struct Number: Codable, Sendable, Equatable { var number: Int }
struct Peer: Codable, Sendable { var uid: Int, pid: Int }

/// The interface the in-process tests serve.
let pingIDL = """
    # The tests' interface.
    interface org.example.ping

    method Ping(ping: string) -> (pong: string)
    method Count(count: int) -> (number: int)
    method Fail(ping: string) -> ()
    method Peer() -> (uid: int, pid: int)
    method Record(ping: string) -> ()
    method Recorded() -> (pings: []string)
    method Unimplemented() -> ()
    error NotReady (retry_after: int)
    """

/// Pings recorded by `Record`, for checking `oneway` calls.
final class Recorder: Sendable {
    private let pings = Locked<[String]>([])
    func record(_ ping: String) { pings.withLock { $0.append(ping) } }
    var recorded: [String] { pings.withLock { $0 } }
}

func pingService(recorder: Recorder = Recorder()) throws -> VarlinkService {
    var service = VarlinkService(vendor: "UDSKit tests", product: "ping", version: "1", url: "https://example.org")
    try service.addInterface(pingIDL) { methods in
        methods.method("Ping") { (request: Ping, _) in Pong(pong: request.ping) }
        methods.streamingMethod("Count") { (request: Count, _, replies: VarlinkReplyStream<Number>) in
            for number in 0..<max(request.count - 1, 0) { try await replies.send(Number(number: number)) }
            return Number(number: request.count - 1)
        }
        methods.method("Fail") { (request: Ping, _) -> VarlinkEmpty in
            throw VarlinkError(name: "org.example.ping.NotReady", parameters: ["retry_after": 5])
        }
        methods.method("Peer") { (_: VarlinkEmpty, call) in
            Peer(uid: Int(call.peer?.userID ?? 0), pid: Int(call.peer?.processID ?? 0))
        }
        methods.method("Record") { (request: Ping, _) in
            recorder.record(request.ping)
            return VarlinkEmpty()
        }
        methods.rawMethod("Recorded") { _, _ in ["pings": .array(recorder.recorded.map { .string($0) })] }
    }
    return service
}

/// Runs `service` on a fresh socket for the length of `body`, which gets its `unix:` address.
func withVarlinkServer<T>(
    _ service: VarlinkService,
    configuration: MessageServer.Configuration = MessageServer.Configuration(),
    _ body: (VarlinkAddress) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { directory in
        let address = try VarlinkAddress("unix:\(directory)/varlink.sock")
        let server = MessageServer(address: address.socket, configuration: configuration, varlinkService: service)
        try await server.start()
        do {
            let result = try await body(address)
            await server.shutdown()
            return result
        } catch {
            await server.shutdown()
            throw error
        }
    }
}

/// The `python3` that can import PyPI's `varlink` (Scripts/install-test-peers.sh installs it), and the directory of
/// that package.
func pythonVarlink() async throws -> (python: String, package: String) {
    let python = try requireExecutable("python3")
    let result = try await ChildProcess.run(
        python, ["-c", "import varlink,os;print(os.path.dirname(varlink.__file__))"])
    guard result.status == 0 else {
        throw TestFailure(
            "python3 cannot import varlink (pip install varlink; Scripts/install-test-peers.sh): \(result.stderr)")
    }
    return (python, result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// The built `varlink-certification`.
var certificationExecutable: String { productsDirectory + "/varlink-certification" }
