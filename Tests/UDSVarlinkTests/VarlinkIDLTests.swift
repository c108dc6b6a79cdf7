import Testing
import UDSVarlink

@Suite("Varlink IDL: parser and parameter validator")
struct VarlinkIDLTests {
    static let ping = """
        # A ping service.
        interface org.example.ping

        type Level (low, high)
        type Point (x: int, y: float, label: ?string)

        # Answers.
        method Ping(ping: string, level: ?Level) -> (pong: string)
        method Points(points: []Point, tags: [string]string, flags: [string](), any: object) -> ()
        method Nested(outer: (inner: (value: bool))) -> (list: ?[]?int)
        error NotReady (retry_after: int)
        """

    @Test func parsesTypesMethodsAndErrors() throws {
        let interface = try VarlinkInterface(parsing: Self.ping)
        #expect(interface.name == "org.example.ping")
        #expect(interface.documentation == "A ping service.")
        #expect(interface.memberNames == ["Level", "Point", "Ping", "Points", "Nested", "NotReady"])
        #expect(interface.types["Level"] == .enumeration(["low", "high"]))
        #expect(
            interface.types["Point"]
                == .structure([
                    VarlinkField(name: "x", type: .int), VarlinkField(name: "y", type: .float),
                    VarlinkField(name: "label", type: .optional(.string)),
                ]))
        let ping = try #require(interface.methods["Ping"])
        #expect(ping.documentation == "Answers.")
        #expect(ping.input.map(\.description) == ["ping: string", "level: ?Level"])
        #expect(
            interface.methods["Points"]?.input.map(\.type) == [
                .array(.named("Point")), .dictionary(.string), .stringSet, .object,
            ])
        #expect(interface.methods["Points"]?.output == [])
        #expect(interface.methods["Nested"]?.output.first?.type == .optional(.array(.optional(.int))))
        #expect(interface.errors["NotReady"]?.parameters == [VarlinkField(name: "retry_after", type: .int)])
    }

    @Test(arguments: [
        ("interfac org.example.a", 1, 1, "must start with 'interface'"),
        ("interface Org.Example", 1, 11, "not a valid interface name"),
        ("interface org.example.a\nmethod Foo(a: int -> ()", 2, 19, "expected ',' or ')'"),
        ("interface org.example.a\nmethod Foo(a int) -> ()", 2, 14, "expected ',' or ')' after an enum case"),
        ("interface org.example.a\nmethod Foo() -> (x: Missing)", 2, 21, "'Missing' is not defined"),
        ("interface org.example.a\ntype T (a: int)\ntype T (b: int)", 3, 6, "defined twice"),
        ("interface org.example.a\nmethod foo() -> ()", 2, 8, "uppercase"),
        ("interface org.example.a\nmethod Foo() -> (a: ??int)", 2, 22, "optional once"),
        ("interface org.example.a\nmethod Foo() -> (a: [int]string)", 2, 22, "map keys must be 'string'"),
        ("interface org.example.a\nmethod Foo() (a: int)", 2, 14, "expected '->'"),
        ("interface org.example.a\nmethod Foo() -> ()\n  $", 3, 3, "unexpected character '$'"),
    ])
    func reportsErrorsWithLineAndColumn(source: String, line: Int, column: Int, message: String) {
        do {
            _ = try VarlinkInterface(parsing: source)
            Issue.record("\(source) parsed")
        } catch {
            #expect(error.line == line && error.column == column, "\(error)")
            #expect(error.message.contains(message), "\(error)")
            #expect("\(error)".hasPrefix("\(line):\(column): "))
        }
    }

    private func problem(_ method: String, _ parameters: JSONValue) throws -> String? {
        let interface = try VarlinkInterface(parsing: Self.ping)
        do {
            try interface.validate(parameters: parameters, ofMethod: try #require(interface.methods[method]))
            return nil
        } catch let error as VarlinkError {
            #expect(error.name == VarlinkError.invalidParameterName)
            return error.parameters["parameter"]?.stringValue
        }
    }

    @Test func acceptsParametersThatMatch() throws {
        #expect(try problem("Ping", ["ping": "x"]) == nil)
        #expect(try problem("Ping", ["ping": "x", "level": "high"]) == nil)
        #expect(try problem("Ping", ["ping": "x", "level": nil]) == nil)
        #expect(
            try problem(
                "Points",
                [
                    "points": [["x": 1, "y": 2], ["x": 3, "y": 4.5, "label": "p"]], "tags": ["a": "b"],
                    "flags": ["one": [:]], "any": ["whatever": [1, "two"]],
                ]) == nil)
        #expect(try problem("Nested", ["outer": ["inner": ["value": true]]]) == nil)
    }

    @Test func namesTheBadParameter() throws {
        #expect(try problem("Ping", [:]) == "ping")
        #expect(try problem("Ping", ["ping": 5]) == "ping")
        #expect(try problem("Ping", ["ping": "x", "level": "medium"]) == "level")
        #expect(try problem("Ping", ["ping": "x", "extra": 1]) == "extra")
        #expect(
            try problem(
                "Points",
                [
                    "points": [["x": 1.5, "y": 2]], "tags": [:], "flags": [:], "any": 1,
                ]) == "points[0].x")
        #expect(try problem("Points", ["points": [], "tags": ["a": 1], "flags": [:], "any": 1]) == "tags.a")
        #expect(try problem("Nested", ["outer": ["inner": ["value": "yes"]]]) == "outer.inner.value")
    }
}
