import Testing
import UDSKit
import UDSKitTestSupport

@testable import UDSVarlink

/// The code the VarlinkGenerator plugin makes from org.example.generated.varlink, served through the generated
/// protocol and called through the generated client over a real socket.
@Suite("Generated varlink code: server protocol and client")
struct GeneratedCodeTests {
    @Test func everyKindOfFieldMakesTheRoundTrip() async throws {
        try await withVarlinkServer(try Shapes.service()) { address in
            let client = OrgExampleGeneratedClient(try await VarlinkClient.connect(to: address))
            let reply = try await client.draw(.init(shape: Shapes.square, scale: 2))
            var expected = Shapes.square
            expected.points = [.init(x: 0, y: 0), .init(x: 2, y: 0), .init(x: 2, y: 2)]
            #expect(reply == .init(shape: expected, pointCount: 3))

            // Optional fields left out arrive as nil; the optional parameter `scale` defaults.
            let bare = Generated.Shape(
                name: "dot", colour: .red, points: [], tags: [:], labels: [], extra: nil,
                style: .init(line: .solid, width: 0), default: false, type: .plain)
            #expect(try await client.draw(.init(shape: bare)).shape == bare)
            await client.client.close()
        }
    }

    @Test func fieldsKeepTheirVarlinkNamesOnTheWire() async throws {
        try await withVarlinkServer(try Shapes.service()) { address in
            let client = try await VarlinkClient.connect(to: address)
            let shape = try VarlinkJSON.value(of: Shapes.square)
            #expect(shape["default"] == true)
            #expect(shape["type"] == "fancy")
            #expect(shape["protocol"] == "p")
            #expect(shape["self"] == 7)
            #expect(shape["init"] == false)
            #expect(shape["colour"] == "dark_blue")
            #expect(shape["labels"] == ["a": [:], "b": [:]])
            #expect(shape["style"] == ["line": "dashed", "width": 2])
            // The untyped client sees what the generated server sent, by the IDL's names.
            let reply = try await client.call("org.example.generated.Draw", parameters: ["shape": shape])
            #expect(reply["point_count"] == 3)
            #expect(reply["shape"] == shape)
            await client.close()
        }
    }

    @Test func aMoreCallStreamsItsReplies() async throws {
        try await withVarlinkServer(try Shapes.service()) { address in
            let client = OrgExampleGeneratedClient(try await VarlinkClient.connect(to: address))
            var numbers: [Int] = []
            for try await reply in client.count(more: .init(count: 5)) { numbers.append(reply.number) }
            #expect(numbers == [1, 2, 3, 4, 5])
            // Without `more`, a method that streams is answered with ExpectedMore, a VarlinkError.
            await #expect(throws: VarlinkError.expectedMore()) { try await client.count(.init(count: 5)) }
            #expect(try await client.count(.init(count: 1)) == .init(number: 1))
            await client.client.close()
        }
    }

    @Test func interfaceErrorsAreThrownAsTheGeneratedEnum() async throws {
        try await withVarlinkServer(try Shapes.service()) { address in
            let client = OrgExampleGeneratedClient(try await VarlinkClient.connect(to: address))
            await #expect(throws: Generated.Error.notPositive(count: -1)) {
                try await client.fail(.init(error: .notPositive))
            }
            await #expect(throws: Generated.Error.refused(reason: "no", shape: Shapes.square, retryAfter: 5)) {
                try await client.fail(.init(error: .refused))
            }
            await #expect(throws: Generated.Error.gone) { try await client.fail(.init(error: .gone)) }
            // An error in a stream, too.
            await #expect(throws: Generated.Error.notPositive(count: 0)) {
                for try await _ in client.count(more: .init(count: 0)) {}
            }
            // Another interface's error stays a VarlinkError.
            await #expect(throws: VarlinkError.methodNotFound("org.example.generated.Nope")) {
                try await client.client.call("org.example.generated.Nope", parameters: nil)
            }
            await client.client.close()
        }
    }

    @Test func theErrorEnumIsTheVarlinkErrorBothWays() throws {
        let refused = Generated.Error.refused(reason: "busy", shape: nil, retryAfter: nil)
        #expect(
            refused.varlinkError == VarlinkError(name: "org.example.generated.Refused", parameters: ["reason": "busy"]))
        #expect(Generated.Error(refused.varlinkError) == refused)
        #expect(Generated.Error(VarlinkError(name: "org.example.generated.Gone")) == .gone)
        #expect(Generated.Error(VarlinkError(name: "org.example.other.Gone")) == nil)
        // Parameters that do not fit the declaration: not recognised, so the client throws the VarlinkError.
        #expect(Generated.Error(VarlinkError(name: "org.example.generated.NotPositive", parameters: [:])) == nil)
    }

    @Test func onewayCallsGetNoReplyAndRun() async throws {
        let shapes = Shapes()
        try await withVarlinkServer(try Shapes.service(shapes)) { address in
            let client = OrgExampleGeneratedClient(try await VarlinkClient.connect(to: address))
            try await client.record(oneway: .init(message: "one"))
            try await client.record(oneway: .init(message: "two"))
            // Replies come in order, so this one's comes after the oneway calls ran.
            #expect(try await client.recorded().messages == ["one", "two"])
            await client.client.close()
        }
    }

    @Test func objectsMapsAndOptionalObjectsPassThrough() async throws {
        try await withVarlinkServer(try Shapes.service()) { address in
            let client = OrgExampleGeneratedClient(try await VarlinkClient.connect(to: address))
            let value: JSONValue = ["nested": ["a": [1, 2.5, "x", true, nil]]]
            let echo = try await client.echo(.init(value: value, lists: ["empty": [], "some": [1, 2, 3]]))
            #expect(echo == .init(value: value, lists: ["empty": [], "some": [1, 2, 3]], maybe: nil))
            #expect(try await client.echo(.init(value: nil, lists: [:], maybe: [])).maybe == [])
            await client.client.close()
        }
    }

    @Test func theServiceDescribesTheInterfaceFromItsFile() async throws {
        try await withVarlinkServer(try Shapes.service()) { address in
            let client = try await VarlinkClient.connect(to: address)
            let description = try await client.call(
                "org.varlink.service.GetInterfaceDescription", parameters: ["interface": "org.example.generated"])
            #expect(description["description"]?.stringValue == Generated.interfaceDescription)
            #expect(Generated.name == "org.example.generated")
            await client.close()
        }
    }

    @Test func theCertificationInterfaceCompilesToItsTypes() throws {
        // org.varlink.certification.varlink has fields named bool, int, float, string, object, enum, struct and
        // interface, and an enum inside a map inside an optional array inside an optional.
        let interface = OrgVarlinkCertification.Interface(
            foo: [["a": .foo, "b": .baz], nil], anon: .init(foo: true, bar: false))
        let value = try VarlinkJSON.value(of: interface)
        #expect(value == ["foo": [["a": "foo", "b": "baz"], nil], "anon": ["foo": true, "bar": false]])
        let start: OrgVarlinkCertification.StartParameters = .init()
        _ = start
        let end = OrgVarlinkCertification.EndReply(allOk: true)
        #expect(try VarlinkJSON.value(of: end) == ["all_ok": true])
        let error = OrgVarlinkCertification.Error.certificationError(wants: ["a": 1], got: nil)
        #expect(error.varlinkError.name == "org.varlink.certification.CertificationError")
    }
}

@Suite("Generated varlink code: names that clash")
struct GeneratedClashingNamesTests {
    @Test func clashingNamesKeepTheirVarlinkNamesOnTheWire() throws {
        // org.example.clash.varlink: a_b and aB, self and Self, a type named like Ping's generated reply.
        let reply = OrgExampleClash.PingReply(
            aB: 1, aB_: 2, self_: .x, self__: true, items: [.init(in: 3, out: ["k": .on])])
        #expect(
            try VarlinkJSON.value(of: reply)
                == ["a_b": 1, "aB": 2, "self": "x", "Self": true, "items": [["in": 3, "out": ["k": "on"]]]])
        let error = OrgExampleClash.Error_.varlinkError_(init_: 1, list: [.init(deep: .init(x: 2))])
        #expect(error.varlinkError.parameters == ["init": 1, "list": [["deep": ["x": 2]]]])
        #expect(OrgExampleClash.Error_(error.varlinkError) == error)
        #expect(OrgExampleEmpty.name == "org.example.empty")
    }
}
