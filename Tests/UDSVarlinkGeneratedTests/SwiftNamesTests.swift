import Testing
import VarlinkIDL

@testable import VarlinkGeneratorCore

/// How varlink names become Swift names in generated code: keywords, underscores, acronyms, collisions.
@Suite("varlink-swift-generator names")
struct SwiftNamesTests {
    @Test(arguments: [
        ("retry_after", "retryAfter"), ("client_id", "clientId"), ("x", "x"), ("a__b_", "aB"),
        ("nullable_array_struct", "nullableArrayStruct"), ("HTTPStatus", "httpStatus"), ("URL", "url"),
        // Keywords take backticks; `type` is no keyword in a declaration.
        ("default", "`default`"), ("protocol", "`protocol`"), ("struct", "`struct`"), ("enum", "`enum`"),
        ("in", "`in`"), ("return", "`return`"), ("true", "`true`"), ("type", "type"), ("object", "object"),
        ("interface", "interface"), ("string", "string"), ("Any", "`any`"),
        // Names that mean something else after a dot get an underscore instead.
        ("self", "self_"), ("Self", "self_"), ("init", "init_"), ("Type", "type"), ("hash_value", "hashValue_"),
    ])
    func fieldNames(varlink: String, swift: String) {
        #expect(SwiftNames.memberName(varlink) == swift)
    }

    @Test(arguments: [
        ("Ping", "ping"), ("GetInfo", "getInfo"), ("URLGet", "urlGet"), ("Test01", "test01"), ("A", "a"),
        ("Default", "`default`"), ("Init", "init_"), ("Self", "self_"), ("Protocol", "`protocol`"),
    ])
    func methodNames(varlink: String, swift: String) {
        #expect(SwiftNames.methodName(varlink) == swift)
    }

    @Test(arguments: [
        ("MyType", "MyType"), ("Type", "Type_"), ("Protocol", "Protocol_"), ("Self", "Self_"), ("Any", "Any_"),
        ("Swift", "Swift_"), ("UDSVarlink", "UDSVarlink_"), ("`default`", "Default"), ("self_", "Self_"),
    ])
    func typeNames(varlink: String, swift: String) {
        #expect(SwiftNames.typeName(varlink) == swift)
    }

    @Test(arguments: [
        ("org.example.ping", "OrgExamplePing"), ("org.example.my-app", "OrgExampleMyApp"),
        ("io.systemd.Resolve", "IoSystemdResolve"), ("org.example.2fa", "OrgExample2fa"),
    ])
    func namespaceNames(interface: String, swift: String) {
        #expect(SwiftNames.namespaceName(interface) == swift)
    }

    @Test func namesThatCollideGetUnderscores() {
        var scope = NameScope(reserved: ["client"])
        #expect(scope.claim(SwiftNames.memberName("a_b")) == "aB")
        #expect(scope.claim(SwiftNames.memberName("aB")) == "aB_")
        #expect(scope.claim(SwiftNames.memberName("a_b_")) == "aB__")
        #expect(scope.claim("client") == "client_")
        #expect(scope.claim("`default`") == "`default`")
        #expect(scope.claim("`default`") == "default_")
    }

    @Test func stringLiteralsEscape() {
        #expect(SwiftNames.stringLiteral("a \"b\" \\ c\n\u{1}") == #""a \"b\" \\ c\n\u{1}""#)
    }

    @Test func generatedNamesGiveWayToTheInterfaceNames() throws {
        // A type named like a method's generated reply, one named Error, fields that collide after camel-casing.
        let interface = try VarlinkInterface(
            parsing: """
                interface org.example.clash
                type PingReply (a_b: int, aB: int, self: (x, y), Self: ?bool)
                type Error (default: string)
                method Ping() -> (reply: PingReply, error: Error)
                error Failed ()
                error VarlinkError (init: int)
                """)
        let generator = SwiftGenerator(interface: interface)
        #expect(generator.typeNames == ["PingReply": "PingReply", "Error": "Error"])
        #expect(generator.methodStructs["Ping"]?.parameters == "PingParameters")
        #expect(generator.methodStructs["Ping"]?.reply == "PingReply_")
        #expect(generator.errorEnum == "Error_")
        let source = generator.generate(source: "org.example.clash.varlink")
        #expect(source.contains("var aB: Swift.Int\n"))
        #expect(source.contains("var aB_: Swift.Int\n"))
        #expect(source.contains("var self_: OrgExampleClash.PingReply.Self_\n"))
        #expect(source.contains("var self__: Swift.Bool?\n"))
        #expect(source.contains("case aB_ = \"aB\""))
        #expect(source.contains("case self__ = \"Self\""))
        #expect(source.contains("var `default`: Swift.String\n"))
        #expect(source.contains("case failed\n"))
        #expect(source.contains("case varlinkError_(init_: Swift.Int)"))
        #expect(source.contains("struct OrgExampleClashClient: Swift.Sendable"))
        #expect(source.contains("func ping(_ parameters: OrgExampleClash.PingParameters = .init()) async throws"))
    }

    @Test func accessLevelIsAppliedEverywhere() throws {
        let interface = try VarlinkInterface(
            parsing: "interface org.example.ping\nmethod Ping(ping: string) -> (pong: string)\nerror E ()\n")
        let source = SwiftGenerator(interface: interface, access: .public).generate(source: "ping.varlink")
        #expect(source.contains("public import UDSVarlink\n"))
        #expect(source.contains("public enum OrgExamplePing {"))
        #expect(source.contains("public struct PingParameters:"))
        #expect(source.contains("public init(ping: Swift.String)"))
        #expect(source.contains("public func ping(_ parameters:"))
        #expect(source.contains("public protocol OrgExamplePingServer:"))
        #expect(source.contains("public mutating func addInterface("))
        #expect(!source.contains("public public"))
    }
}
