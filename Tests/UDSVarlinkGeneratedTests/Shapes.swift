import Logging
import UDSKit
import UDSKitTestSupport
import UDSVarlink

typealias Generated = OrgExampleGenerated

/// The tests' implementation of `org.example.generated` (org.example.generated.varlink), through the protocol the
/// plugin generates: a method missing or mistyped here does not compile.
struct Shapes: OrgExampleGeneratedServer {
    /// Messages `Record` got.
    let recorded = Locked<[String]>([])

    func draw(
        _ parameters: Generated.DrawParameters, call: VarlinkCall, replies: VarlinkReplyStream<Generated.DrawReply>
    ) async throws -> Generated.DrawReply {
        var shape = parameters.shape
        let scale = parameters.scale ?? 1
        shape.points = shape.points.map { Generated.Point(x: $0.x * scale, y: $0.y * scale) }
        return Generated.DrawReply(shape: shape, pointCount: shape.points.count)
    }

    func count(
        _ parameters: Generated.CountParameters, call: VarlinkCall, replies: VarlinkReplyStream<Generated.CountReply>
    ) async throws -> Generated.CountReply {
        guard parameters.count > 0 else { throw Generated.Error.notPositive(count: parameters.count) }
        for number in 1..<parameters.count { try await replies.send(Generated.CountReply(number: number)) }
        return Generated.CountReply(number: parameters.count)
    }

    func record(
        _ parameters: Generated.RecordParameters, call: VarlinkCall, replies: VarlinkReplyStream<Generated.RecordReply>
    ) async throws -> Generated.RecordReply {
        recorded.withLock { $0.append(parameters.message) }
        return Generated.RecordReply()
    }

    func recorded(
        _ parameters: Generated.RecordedParameters, call: VarlinkCall,
        replies: VarlinkReplyStream<Generated.RecordedReply>
    ) async throws -> Generated.RecordedReply {
        Generated.RecordedReply(messages: recorded.withLock { $0 })
    }

    func fail(
        _ parameters: Generated.FailParameters, call: VarlinkCall, replies: VarlinkReplyStream<Generated.FailReply>
    ) async throws -> Generated.FailReply {
        switch parameters.error {
        case .notPositive: throw Generated.Error.notPositive(count: -1)
        case .refused: throw Generated.Error.refused(reason: "no", shape: Shapes.square, retryAfter: 5)
        case .gone: throw Generated.Error.gone
        }
    }

    func echo(
        _ parameters: Generated.EchoParameters, call: VarlinkCall, replies: VarlinkReplyStream<Generated.EchoReply>
    ) async throws -> Generated.EchoReply {
        Generated.EchoReply(value: parameters.value, lists: parameters.lists, maybe: parameters.maybe)
    }

    /// A shape with every field set, the ones named after Swift keywords included.
    static let square = Generated.Shape(
        name: "square", colour: .darkBlue, points: [.init(x: 0, y: 0), .init(x: 1, y: 0), .init(x: 1, y: 1)],
        tags: ["kind": "polygon"], labels: ["a", "b"], note: "drawn by hand", extra: ["any": [1, "two", nil]],
        style: .init(line: .dashed, width: 2), children: [.init(x: 0.5, y: 0.5), nil], default: true, type: .fancy,
        protocol: "p", self_: 7, init_: false)

    /// A service with `org.example.generated` served by `shapes`.
    static func service(_ shapes: Shapes = Shapes()) throws -> VarlinkService {
        var service = VarlinkService(
            vendor: "UDSKit tests", product: "generated", version: "1", url: "https://example.org")
        try service.addInterface(OrgExampleGenerated.self, implementation: shapes)
        return service
    }
}

/// Runs `service` on a fresh socket for the length of `body`, which gets its `unix:` address.
func withVarlinkServer<T>(_ service: VarlinkService, _ body: (VarlinkAddress) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        let address = try VarlinkAddress("unix:\(directory)/generated.sock")
        var logger = Logger(label: "UDSVarlinkGeneratedTests")
        logger.logLevel = .warning
        let server = MessageServer(address: address.socket, logger: logger, varlinkService: service)
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
