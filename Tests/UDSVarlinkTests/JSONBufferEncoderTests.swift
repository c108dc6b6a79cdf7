import NIOCore
import Testing

@testable import UDSVarlink

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The server's reply encoder against JSONEncoder: the same JSON for what it writes, and a refusal (so that
/// JSONEncoder writes it) for what it would write differently.
@Suite("Varlink JSON: replies written straight into a buffer")
struct JSONBufferEncoderTests {
    struct Inner: Codable, Equatable {
        var name: String
        var values: [Int64]
        var flag: Bool?
    }
    enum Kind: String, Codable { case one, two }
    struct Everything: Codable, Equatable {
        var text = "plain \"quoted\" back\\slash a/b \u{01}\u{1F}\n\r\t\u{08}\u{0C} é 😀 \u{2028}"
        var int = -9_223_372_036_854_775_807 - 1
        var unsigned: UInt64 = .max
        var small: Int8 = -128
        var double = 0.1
        var whole = 3.0
        var large = 1e20
        var tiny = 1e-7
        var negativeZero = -0.0
        var float: Float = 1.1
        var present: String? = "here"
        var absent: String?
        var inner = Inner(name: "n", values: [1, -2, 3], flag: nil)
        var list = [Inner(name: "a", values: [], flag: true), Inner(name: "b", values: [0], flag: false)]
        var map = ["x": 1, "y/z": 2]
        var intKeys = [1: "one"]
        var nested = [[1, 2], [], [3]]
        var optionals: [Int?] = [1, nil, 3]
        var kind = Kind.two
        var empty = VarlinkEmpty()
        var set: VarlinkStringSet = ["b", "a"]
        var json: JSONValue = ["k": [1, 2.5, "s", nil, true, ["deep": [:]]]]
    }

    /// Encodes with both and checks the two texts are the same JSON; returns the buffer encoder's text.
    @discardableResult
    func same(_ value: some Encodable, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        var buffer = ByteBuffer()
        #expect(JSONBufferEncoder.encode(value, into: &buffer), sourceLocation: sourceLocation)
        let ours = try buffer.withUnsafeReadableBytes { raw throws(JSONParseError) in try JSONParser.parse(raw) }
        let theirs = try JSONEncoder().encode(value).withUnsafeBytes { raw throws(JSONParseError) in
            try JSONParser.parse(raw)
        }
        #expect(ours == theirs, sourceLocation: sourceLocation)
        return String(buffer: buffer)
    }

    @Test func writesWhatJSONEncoderWrites() throws {
        try same(Everything())
        try same([Everything(), Everything()])
        try same(JSONValue.object([:]))
        try same("top-level string")
        try same(42)
        try same([String: [Int]]())
    }

    @Test func writesTheSameBytesForOneMember() throws {
        struct Pong: Codable { var pong: String }
        for value in ["x", "a/b", "\u{00}", "é\"\\", ""] {
            var buffer = ByteBuffer()
            #expect(JSONBufferEncoder.encode(Pong(pong: value), into: &buffer))
            #expect(Array(buffer.readableBytesView) == Array(try JSONEncoder().encode(Pong(pong: value))))
        }
        #expect(try same([0.1, 3.0, 1e20, 1e-7, -0.0, 1.5e300, 100, 2.5]) == "[0.1,3,1e+20,1e-07,-0,1.5e+300,100,2.5]")
        #expect(try same([Int64.min, 0, Int64.max]) == "[-9223372036854775808,0,9223372036854775807]")
    }

    /// A value that opens its keyed container twice gets one object, as with JSONEncoder.
    @Test func aContainerAskedForTwiceIsOneObject() throws {
        struct Twice: Encodable {
            enum Keys: String, CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var first = encoder.container(keyedBy: Keys.self)
                try first.encode(1, forKey: .a)
                var second = encoder.container(keyedBy: Keys.self)
                try second.encode(2, forKey: .b)
            }
        }
        #expect(try same(Twice()) == #"{"a":1,"b":2}"#)
    }

    /// Nested containers close when their parent writes on, and at the end of the value.
    @Test func nestedContainersClose() throws {
        struct Nesting: Encodable {
            enum Keys: String, CodingKey { case a, b, c }
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.container(keyedBy: Keys.self)
                var a = outer.nestedContainer(keyedBy: Keys.self, forKey: .a)
                try a.encode(1, forKey: .a)
                var b = outer.nestedUnkeyedContainer(forKey: .b)
                try b.encode(2)
                var inner = b.nestedUnkeyedContainer()
                try inner.encode(3)
                try b.encode(4)
                #expect(b.count == 3)
                var c = outer.nestedContainer(keyedBy: Keys.self, forKey: .c)
                _ = c.nestedUnkeyedContainer(forKey: .c)
            }
        }
        #expect(try same(Nesting()) == #"{"a":{"a":1},"b":[2,[3],4],"c":{"c":[]}}"#)
    }

    /// What it would write differently from JSONEncoder, it leaves to JSONEncoder, and the buffer as it was.
    @Test(arguments: [0, 1, 2, 3, 4, 5, 6])
    func leavesToJSONEncoder(kind: Int) {
        struct Thrower: Encodable {
            func encode(to encoder: any Encoder) throws {
                throw EncodingError.invalidValue(1, .init(codingPath: [], debugDescription: "no"))
            }
        }
        struct OutOfOrder: Encodable {
            enum Keys: String, CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.container(keyedBy: Keys.self)
                var a = outer.nestedContainer(keyedBy: Keys.self, forKey: .a)
                try outer.encode(1, forKey: .b)
                try a.encode(2, forKey: .a)  // after its parent wrote on
            }
        }
        struct Super: Encodable {
            enum Keys: String, CodingKey { case a }
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.container(keyedBy: Keys.self)
                try 1.encode(to: outer.superEncoder())
            }
        }
        var buffer = ByteBuffer(string: "kept")
        let written: Bool
        switch kind {
        case 0: written = JSONBufferEncoder.encode(["data": Data([1, 2])], into: &buffer)
        case 1: written = JSONBufferEncoder.encode([Double.nan], into: &buffer)
        case 2: written = JSONBufferEncoder.encode(["u": URL(string: "https://example.org/")!], into: &buffer)
        case 3: written = JSONBufferEncoder.encode([Decimal(1)], into: &buffer)
        case 4: written = JSONBufferEncoder.encode(Thrower(), into: &buffer)
        case 5: written = JSONBufferEncoder.encode(OutOfOrder(), into: &buffer)
        default: written = JSONBufferEncoder.encode(Super(), into: &buffer)
        }
        #expect(!written)
        #expect(String(buffer: buffer) == "kept")
    }

    /// The reply and error-reply envelopes, and the JSONEncoder fallback inside them, written as a server writes
    /// them: one encoder kept for all of a connection's replies.
    @Test func replies() throws {
        struct Pong: Codable { var pong: String }
        let encoder = JSONEncoder()
        let json = JSONBufferEncoder()
        func reply(_ parameters: some Encodable, continues: Bool) throws -> ByteBuffer {
            var buffer = ByteBuffer()
            _ = try VarlinkJSON.reply(parameters, continues: continues, with: json, fallback: encoder) {
                buffer.writeBytes($0)
                return true
            }
            return buffer
        }
        func reply(error: VarlinkError) throws -> ByteBuffer {
            var buffer = ByteBuffer()
            _ = try VarlinkJSON.reply(error: error, with: json, fallback: encoder) {
                buffer.writeBytes($0)
                return true
            }
            return buffer
        }
        #expect(
            String(buffer: try reply(Pong(pong: "x"), continues: false))
                == #"{"parameters":{"pong":"x"}}"#)
        #expect(
            String(buffer: try reply(VarlinkEmpty(), continues: true))
                == #"{"parameters":{},"continues":true}"#)
        let data = try reply(["d": Data([1])], continues: false)
        #expect(String(buffer: data) == #"{"parameters":{"d":"AQ=="}}"#)
        #expect(throws: EncodingError.self) {
            try reply([Double.infinity], continues: false)
        }
        let error = VarlinkError(name: "org.example.ping.NotReady", parameters: ["retry_after": 1])
        #expect(
            String(buffer: try reply(error: error))
                == #"{"error":"org.example.ping.NotReady","parameters":{"retry_after":1}}"#)
    }
}
