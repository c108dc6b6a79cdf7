import Testing
import UDSKitTestSupport

@testable import UDSVarlink

/// The generated types' `VarlinkJSONCodable` conformances, the path a server's handlers take: they must read and
/// write what the types' `Codable` conformances do.
@Suite("Generated varlink code: JSON read and written directly")
struct GeneratedJSONCodingTests {
    /// The JSON `value` writes by its own conformance.
    private func written(_ value: some VarlinkJSONCodable) throws -> JSONValue {
        var bytes: [UInt8] = []
        let encoded = JSONBufferEncoder().encode(
            { encoder in
                var writer = VarlinkJSONWriter(encoder)
                value.write(to: &writer)
            },
            then: { written in
                bytes = Array(written)
                return true
            })
        #expect(encoded == true)
        return try bytes.withUnsafeBytes { raw throws(JSONParseError) in try JSONParser.parse(raw) }
    }

    @Test func everyKindOfFieldIsWrittenAsCodableWritesIt() throws {
        let bare = Generated.Shape(
            name: "a \"quoted\" / slashed\nname", colour: .red, points: [], tags: [:], labels: [], extra: nil,
            style: .init(line: .solid, width: -3), default: false, type: .plain)
        for shape in [Shapes.square, bare] {
            #expect(try written(shape) == VarlinkJSON.value(of: shape))
            let reply = OrgExampleGenerated.DrawReply(shape: shape, pointCount: shape.points.count)
            #expect(try written(reply) == VarlinkJSON.value(of: reply))
        }
        // Optionals that are nil are left out, as Codable leaves them out.
        #expect(try written(bare).objectValue?.keys.contains("note") == false)
        #expect(try written(OrgExampleGenerated.RecordParameters(message: "m")) == ["message": "m"])
        #expect(try written(OrgExampleGenerated.RecordReply()) == [:])
    }

    @Test func everyKindOfFieldIsReadBack() throws {
        for shape in [
            Shapes.square,
            Generated.Shape(
                name: "n", colour: .green, points: [.init(x: 1.5, y: -2)],
                tags: ["k": "v"], labels: ["only"], extra: [:], style: .init(line: .dashed, width: 0), default: true,
                type: .fancy),
        ] {
            #expect(try Generated.Shape(varlinkJSON: VarlinkJSON.value(of: shape)) == shape)
        }
        // An int may come as a float with no fraction, as JSONDecoder takes it; a float may come as an int.
        let point = try Generated.Point(varlinkJSON: ["x": 1, "y": 2.0])
        #expect(point == .init(x: 1, y: 2))
        #expect(try OrgExampleGenerated.CountParameters(varlinkJSON: ["count": 3.0]).count == 3)
    }

    @Test(arguments: [
        (#"{"name": 1}"#, "name"),
        (#"{"points": [{"x": 0, "y": 0}, {"x": "far", "y": 0}]}"#, "points[1].x"),
        (#"{"colour": "purple"}"#, "colour"),
        (#"{"children": [null, {"x": 1}]}"#, "children[1].y"),
        (#"{"tags": {"k": 2}}"#, "tags.k"),
        (#"{"style": {"line": "solid", "width": 1.5}}"#, "style.width"),
        ("[]", ""),
    ])
    func aValueThatDoesNotFitNamesWhere(json: String, path: String) throws {
        // Each case breaks one member of an otherwise whole shape.
        var shape = try VarlinkJSON.value(of: Shapes.square).objectValue ?? [:]
        let broken = try Array(json.utf8).withUnsafeBytes { raw throws(JSONParseError) in try JSONParser.parse(raw) }
        let value: JSONValue
        if let members = broken.objectValue {
            for (key, member) in members { shape[key] = member }
            value = .object(shape)
        } else {
            value = broken
        }
        let error = #expect(throws: VarlinkJSONError.self) { try Generated.Shape(varlinkJSON: value) }
        #expect(error?.path == path)
    }

    @Test func theInvalidParameterNamesTheMemberThatDoesNotFit() {
        // What a handler registered for generated types answers when its parameters do not read as its type.
        #expect(throws: VarlinkError.invalidParameter("shape.points[0].y")) {
            try VarlinkMethods.read(
                OrgExampleGenerated.DrawParameters.self,
                ["shape": ["name": "n", "colour": "red", "points": [["x": 1]]]])
        }
    }
}
