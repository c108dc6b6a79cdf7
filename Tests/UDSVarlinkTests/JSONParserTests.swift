import Testing
import UDSVarlink

@testable import UDSVarlink

@Suite("Varlink JSON: parsed once into JSONValue")
struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue(
            parsing: #" {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "d\n\u00e9\ud83d\ude00"}, "e": ""} "#)
        #expect(value == ["a": [1, -2, 3.5, 1000.0, true, false, nil], "b": ["c": "d\né😀"], "e": ""])
    }

    @Test func integersStayIntegers() throws {
        #expect(try JSONValue(parsing: "9007199254740993") == .int(9_007_199_254_740_993))
        #expect(try JSONValue(parsing: "1.0") == .double(1))
        #expect(try JSONValue(parsing: "99999999999999999999") == .double(1e20))
    }

    @Test(arguments: [
        "", "{", "[1,]", #"{"a" 1}"#, #"{"a":1,}"#, "tru", "01", "-", "1.", "1e", #""\x""#, #""\ud800""#,
        "\"a\u{01}\"", "[1] 2", "nul", #"{1:2}"#,
    ])
    func refusesWhatIsNotJSON(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test func refusesInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xFF, 0xFE, 0x22]
        #expect(throws: VarlinkProtocolError.self) {
            try bytes.withUnsafeBytes { raw in try VarlinkReplyMessage(parsing: raw) }
        }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: Never.self) { try JSONValue(parsing: fine) }
    }

    @Test func textRoundTrips() throws {
        let value: JSONValue = [
            "method": "org.example.ping.Ping", "parameters": ["ping": "a\"b\\c\u{0}"], "more": true,
        ]
        #expect(try JSONValue(parsing: value.jsonText) == value)
    }

    @Test func callsParseWithTheirFlags() throws {
        let call = try parseCall(#"{"method":"a.b.C","parameters":{"x":1},"more":true}"#)
        #expect(call.method == "a.b.C" && call.interface == "a.b" && call.more == true && call.oneway == nil)
        #expect(call.parameters == ["x": 1])
        for bad in [
            #"{"parameters":{}}"#, #"{"method":1}"#, #"{"method":"a.B","parameters":[]}"#,
            #"{"method":"a.B","more":"yes"}"#,
        ] {
            #expect(throws: VarlinkProtocolError.self) { try parseCall(bad) }
        }
    }

    /// A server parses each call with the method of the connection's last call at hand, and gets that string back
    /// for the same name: the result must be the same as without it, whatever the bytes.
    @Test func aCallParsesTheSameWithTheLastMethodAtHand() {
        let known = "org.example.ping.Ping"
        for text in [
            #"{"method":"org.example.ping.Ping","parameters":{"ping":"a"}}"#,
            #"{"method":"org.example.ping.P\u0069ng","oneway":true}"#,
            #"{"method":"org.example.ping.Pong"}"#, #"{"method":"org.example.ping.Pin"}"#,
            #"{"method":"org.example.ping.Pings"}"#, #"{"method":""}"#,
            #"{"parameters":{},"m\u0065thod":"org.example.ping.Ping","more":true}"#,
            #"{"method":"org.example.ping.Ping","method":"a.B","upgrade":false,"other":[1,{"x":null}]}"#,
            #"{"method":1}"#, #"{"method":"é.x"}"#, #"{"method":"org.example.ping.Ping""#, "[1]", "{}",
            "{\"method\":\"org.example.ping.Ping\u{01}\"}",
        ] {
            let plain = Result { try parseCall(text) }
            let reusing = Result { try parseCall(text, knownMethod: known) }
            switch (plain, reusing) {
            case (.success(let plain), .success(let reusing)): #expect(plain == reusing, "\(text)")
            case (.failure(let plain), .failure(let reusing)): #expect("\(plain)" == "\(reusing)", "\(text)")
            default: Issue.record("\(text): \(plain) without the known method, \(reusing) with it")
            }
        }
        let invalid: [UInt8] = Array(#"{"method":""#.utf8) + [0xFF, 0x22, 0x7D]
        #expect(throws: VarlinkProtocolError.self) {
            try invalid.withUnsafeBytes { raw in try VarlinkCallMessage(parsing: raw, knownMethod: known) }
        }
    }

    private func parseCall(_ text: String, knownMethod: String? = nil) throws -> VarlinkCallMessage {
        try Array(text.utf8).withUnsafeBytes { raw in try VarlinkCallMessage(parsing: raw, knownMethod: knownMethod) }
    }
}
