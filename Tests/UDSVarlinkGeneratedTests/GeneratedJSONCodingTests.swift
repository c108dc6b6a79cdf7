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

    /// `value` read as a `T` from its JSON bytes, as a server reads a call's parameters.
    private func read<T: VarlinkJSONCodable>(_ type: T.Type, _ value: JSONValue) throws -> T {
        try read(type, VarlinkJSON.encode(value))
    }

    private func read<T: VarlinkJSONCodable>(_ type: T.Type, _ text: String) throws -> T {
        try read(type, Array(text.utf8))
    }

    private func read<T: VarlinkJSONCodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { raw in
            var json = VarlinkJSONReader(raw)
            let value = try T(varlinkJSON: &json)
            try json.parser.expectEnd()
            return value
        }
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
            #expect(try read(Generated.Shape.self, VarlinkJSON.value(of: shape)) == shape)
        }
        // An int may come as a float with no fraction, as JSONDecoder takes it; a float may come as an int.
        let point = try read(Generated.Point.self, ["x": 1, "y": 2.0])
        #expect(point == .init(x: 1, y: 2))
        #expect(try read(OrgExampleGenerated.CountParameters.self, ["count": 3.0]).count == 3)
    }

    @Test func membersAreReadInAnyOrder() throws {
        let point = try read(Generated.Point.self, #" { "y" : 2 , "x": -1.5e0 } "#)
        #expect(point == .init(x: -1.5, y: 2))
        // A repeated member: the last one wins, as in a parsed object.
        #expect(try read(Generated.Point.self, #"{"x": 1, "y": 1, "x": 3}"#) == .init(x: 3, y: 1))
        // Escaped names are names.
        #expect(try read(Generated.Point.self, #"{"\u0078": 4, "y": 0}"#) == .init(x: 4, y: 0))
        // What the IDL does not declare is refused, as the IDL check refuses it.
        let unknown = #expect(throws: VarlinkJSONError.self) {
            try read(Generated.Point.self, #"{"x": 1, "y": 2, "z": {"deep": [1]}}"#)
        }
        #expect(unknown?.path == "z")
        let missing = #expect(throws: VarlinkJSONError.self) { try read(Generated.Point.self, #"{"x": 1}"#) }
        #expect(missing?.path == "y")
        let malformed = #expect(throws: VarlinkJSONError.self) { try read(Generated.Point.self, #"{"x": 1,"#) }
        #expect(malformed?.problem.contains("invalid JSON") == true)
    }

    /// A server reads generated parameters without checking them against the IDL first
    /// (`VarlinkGeneratedParameters`): reading them must refuse what the check refuses, naming the same member.
    @Test(arguments: [
        #"{"shape": {"name": 1}}"#, #"{"shape": {"points": [{"x": 0, "y": 0}, {"x": "far", "y": 0}]}}"#,
        #"{"shape": {"colour": "purple"}}"#, #"{"shape": {"children": [null, {"x": 1}]}}"#,
        #"{"shape": {"tags": {"k": 2}}}"#, #"{"shape": {"style": {"line": "solid", "width": 1.5}}}"#,
        #"{"shape": {"style": {"line": "solid", "width": 1, "colour": "red"}}}"#, #"{"shape": {"spare": 1}}"#,
        #"{"shape": {"labels": []}}"#, #"{"shape": {"extra": null}}"#, #"{"shape": {"self": 1e16}}"#,
        #"{"shape": {"self": 2.0}}"#, #"{"shape": {"type": null}}"#, #"{"scale": "big"}"#, #"{"scale": null}"#,
        #"{"spare": true}"#, #"{}"#, #"{"shape": {"point": []}}"#,
    ])
    func readingGeneratedParametersRefusesWhatTheIDLCheckRefuses(change: String) throws {
        var call =
            try VarlinkJSON.value(of: OrgExampleGenerated.DrawParameters(shape: Shapes.square)).objectValue ?? [:]
        let changes = try Array(change.utf8).withUnsafeBytes { raw throws(JSONParseError) in try JSONParser.parse(raw) }
        for (key, value) in changes.objectValue ?? [:] {
            if key == "shape", var shape = call["shape"]?.objectValue, let members = value.objectValue {
                for (name, member) in members { shape[name] = member }
                call["shape"] = .object(shape)
            } else {
                call[key] = value
            }
        }
        if change == "{}" { call["shape"] = nil }
        let interface = try VarlinkInterface(parsing: OrgExampleGenerated.interfaceDescription)
        let draw = try #require(interface.methods["Draw"])
        let checked = Result { try interface.validate(parameters: .object(call), ofMethod: draw) }
        let read = Result {
            try VarlinkJSON.encode(JSONValue.object(call)).withUnsafeBytes { raw in
                _ = try VarlinkMethods.read(OrgExampleGenerated.DrawParameters.self, raw)
            }
        }
        switch (checked, read) {
        case (.success, .success): break
        case (.failure(let checked), .failure(let read)):
            #expect(checked as? VarlinkError == read as? VarlinkError, "\(change)")
        default: Issue.record("\(change): the IDL check gives \(checked), reading gives \(read)")
        }
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
        let error = #expect(throws: VarlinkJSONError.self) { try read(Generated.Shape.self, value) }
        #expect(error?.path == path)
    }

    @Test func theInvalidParameterNamesTheMemberThatDoesNotFit() {
        // What a handler registered for generated types answers when its parameters do not read as its type.
        #expect(throws: VarlinkError.invalidParameter("shape.points[0].y")) {
            let parameters: JSONValue = ["shape": ["name": "n", "colour": "red", "points": [["x": 1]]]]
            try VarlinkJSON.encode(parameters).withUnsafeBytes { raw in
                _ = try VarlinkMethods.read(OrgExampleGenerated.DrawParameters.self, raw)
            }
        }
    }
}
