import Synchronization
import UDSKit
import UDSVarlink

/// The server side of `org.varlink.certification`: checks that each call comes in order with exactly the
/// parameters the interface's script prescribes, and answers with the next step's values.
final class CertificationServer: Sendable {
    /// The method each client must call next, by client ID.
    private let next = Mutex<[String: String]>([:])

    func service() throws -> VarlinkService {
        var service = VarlinkService(
            vendor: "UDSKit", product: "varlink-certification", version: "1", url: "https://varlink.org")
        try service.addInterface(Certification.idl) { methods in
            methods.rawMethod("Start") { parameters, call in
                try Self.expect(call, more: false, oneway: false)
                guard parameters == .object([:]) else { throw Self.failure(wants: [:], got: parameters) }
                let id = Self.newClientID()
                self.next.withLock { $0[id] = "Test01" }
                return ["client_id": .string(id)]
            }
            self.step(&methods, "Test01", then: "Test02", wants: [:], reply: ["bool": true])
            self.step(&methods, "Test02", then: "Test03", wants: ["bool": true], reply: ["int": 1])
            self.step(&methods, "Test03", then: "Test04", wants: ["int": 1], reply: ["float": 1.0])
            self.step(&methods, "Test04", then: "Test05", wants: ["float": 1.0], reply: ["string": "ping"])
            self.step(&methods, "Test05", then: "Test06", wants: ["string": "ping"], reply: Certification.test05)
            self.step(
                &methods, "Test06", then: "Test07", wants: Certification.test05, reply: ["struct": Certification.test05]
            )
            self.step(
                &methods, "Test07", then: "Test08", wants: ["struct": Certification.test05],
                reply: ["map": Certification.map])
            self.step(
                &methods, "Test08", then: "Test09", wants: ["map": Certification.map], reply: ["set": Certification.set]
            )
            self.step(
                &methods, "Test09", then: "Test10", wants: ["set": Certification.set],
                reply: ["mytype": Certification.myType])
            methods.streamingMethod("Test10") { (parameters: JSONValue, call, replies: VarlinkReplyStream<JSONValue>) in
                try self.check(
                    call, parameters, method: "Test10", then: "Test11", more: true,
                    wants: ["mytype": Certification.myType]
                ) { got in
                    // The optional members may come as null or not at all.
                    guard case .object(var mytype) = got["mytype"] else { return got }
                    for key in ["nullable", "nullable_array_struct"] where mytype[key] == .null { mytype[key] = nil }
                    var got = got.objectValue ?? [:]
                    got["mytype"] = .object(mytype)
                    return .object(got)
                }
                for reply in Certification.moreReplies.dropLast() { try await replies.send(["string": .string(reply)]) }
                return ["string": .string(Certification.moreReplies.last!)]
            }
            methods.rawMethod("Test11") { parameters, call in
                let wants: JSONValue = ["last_more_replies": .array(Certification.moreReplies.map { .string($0) })]
                try self.check(call, parameters, method: "Test11", then: "End", oneway: true, wants: wants)
                return [:]
            }
            methods.rawMethod("End") { parameters, call in
                try self.check(call, parameters, method: "End", then: nil, wants: [:])
                return ["all_ok": true]
            }
        }
        return service
    }

    private func step(
        _ methods: inout VarlinkMethods, _ method: String, then next: String, wants: JSONValue, reply: JSONValue
    ) {
        methods.rawMethod(method) { parameters, call in
            try self.check(call, parameters, method: method, then: next, wants: wants)
            return reply
        }
    }

    /// Checks the client's ID and that `method` is its next step, then its flags and its parameters (`wants` plus
    /// `client_id`); moves the client on to `next`, or forgets it at the end or at the first mistake.
    private func check(
        _ call: VarlinkCall, _ parameters: JSONValue, method: String, then next: String?,
        more: Bool = false, oneway: Bool = false, wants: JSONValue,
        normalize: (JSONValue) -> JSONValue = { $0 }
    ) throws {
        guard let id = parameters["client_id"]?.stringValue else {
            throw VarlinkError(name: "org.varlink.certification.ClientIdError")
        }
        let expected = self.next.withLock { $0[id] }
        guard let expected else { throw VarlinkError(name: "org.varlink.certification.ClientIdError") }
        do {
            guard expected == method else {
                throw Self.failure(
                    wants: .string("Call to method org.varlink.certification.\(expected)"),
                    got: .string("Call to method org.varlink.certification.\(method)"))
            }
            try Self.expect(call, more: more, oneway: oneway)
            var wanted = wants.objectValue ?? [:]
            wanted["client_id"] = .string(id)
            guard normalize(parameters).sameJSON(as: .object(wanted)) else {
                throw Self.failure(wants: .object(wanted), got: parameters)
            }
        } catch {
            self.next.withLock { $0[id] = nil }
            throw error
        }
        self.next.withLock { $0[id] = next }
    }

    private static func expect(_ call: VarlinkCall, more: Bool, oneway: Bool) throws {
        guard call.more == more, call.oneway == oneway else {
            throw failure(
                wants: ["more": .bool(more), "oneway": .bool(oneway)],
                got: ["more": .bool(call.more), "oneway": .bool(call.oneway)])
        }
    }

    private static func failure(wants: JSONValue, got: JSONValue) -> VarlinkError {
        VarlinkError(name: "org.varlink.certification.CertificationError", parameters: ["wants": wants, "got": got])
    }

    private static func newClientID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return String(byte >> 4, radix: 16) + String(byte & 15, radix: 16)
        }.joined()
    }
}
