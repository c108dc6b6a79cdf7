// JSONEncoder from FoundationEssentials, not Foundation: no libFoundation.so or ICU in a varlink program. Darwin has
// no FoundationEssentials module; there Foundation is the same code.
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A call as it arrives: `{"method": …, "parameters": {…}, "oneway"|"more"|"upgrade": true}`.
public struct VarlinkCallMessage: Codable, Hashable, Sendable {
    /// The fully qualified method, `interface.Method`.
    public var method: String
    /// The parameters, an object; `nil` when the call has none.
    public var parameters: JSONValue?
    /// The caller wants no reply.
    public var oneway: Bool?
    /// The caller accepts several replies, each but the last with `continues`.
    public var more: Bool?
    /// The caller wants the connection to switch to another protocol after the reply.
    public var upgrade: Bool?

    public init(method: String, parameters: JSONValue? = nil, oneway: Bool = false, more: Bool = false) {
        self.method = method
        self.parameters = parameters
        self.oneway = oneway ? true : nil
        self.more = more ? true : nil
    }

    /// The interface part of ``method``: everything before the last dot.
    public var interface: String {
        guard let dot = method.lastIndex(of: ".") else { return "" }
        return String(method[..<dot])
    }
}

/// A reply as it arrives: `{"parameters": {…}, "continues": true}` or `{"error": …, "parameters": {…}}`.
public struct VarlinkReplyMessage: Codable, Hashable, Sendable {
    public var parameters: JSONValue?
    /// More replies to the same call follow.
    public var continues: Bool?
    /// The error's fully qualified name, for an error reply.
    public var error: String?

    public init(parameters: JSONValue? = nil, continues: Bool = false, error: String? = nil) {
        self.parameters = parameters
        self.continues = continues ? true : nil
        self.error = error
    }
}

/// An outgoing call with typed parameters, encoded in one pass; `false` flags are left out, as the reference
/// implementation expects.
struct TypedCall<Parameters: Encodable>: Encodable {
    let method: String
    let parameters: Parameters?
    let oneway: Bool
    let more: Bool

    enum CodingKeys: String, CodingKey { case method, parameters, oneway, more }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(method, forKey: .method)
        try container.encodeIfPresent(parameters, forKey: .parameters)
        if oneway { try container.encode(true, forKey: .oneway) }
        if more { try container.encode(true, forKey: .more) }
    }
}

/// An outgoing reply with typed parameters, encoded in one pass.
struct TypedReply<Parameters: Encodable>: Encodable {
    let parameters: Parameters
    let continues: Bool

    enum CodingKeys: String, CodingKey { case parameters, continues }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(parameters, forKey: .parameters)
        if continues { try container.encode(true, forKey: .continues) }
    }
}

/// The empty parameters `()`: encodes as `{}`, decodes from any object.
public struct VarlinkEmpty: Codable, Hashable, Sendable {
    public init() {}
    public init(from decoder: any Decoder) throws { _ = try decoder.container(keyedBy: AnyKey.self) }
    public func encode(to encoder: any Encoder) throws { _ = encoder.container(keyedBy: AnyKey.self) }
}

/// A varlink string set, `[string]()`: on the wire an object whose members are all `{}`.
public struct VarlinkStringSet: Codable, Hashable, Sendable, ExpressibleByArrayLiteral {
    public var values: Set<String>

    public init(_ values: Set<String>) { self.values = values }
    public init(arrayLiteral elements: String...) { values = Set(elements) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        values = Set(container.allKeys.map(\.stringValue))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        for value in values.sorted() { try container.encode(VarlinkEmpty(), forKey: AnyKey(stringValue: value)) }
    }
}

struct AnyKey: CodingKey {
    let stringValue: String
    init(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { return nil }
}

/// The JSON coders this module uses, in one place.
enum VarlinkJSON {
    /// Encodes `value`; the bytes never contain a NUL (JSON escapes it as `\u0000`).
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value))
    }

    /// Encodes `value` with `encoder` (one per connection: making a `JSONEncoder` per message costs more than
    /// encoding a small reply).
    static func encode(_ value: some Encodable, with encoder: JSONEncoder) throws -> Data {
        try encoder.encode(value)
    }

    /// Writes a reply, `{"parameters":…}` and `"continues":true` when `continues`, with `json` (an encoder kept
    /// between replies), or with `encoder` for what that one leaves to JSONEncoder, and hands its bytes to
    /// `written`, returning what that returns.
    static func reply(
        _ parameters: some Encodable, continues: Bool, with json: JSONBufferEncoder, fallback encoder: JSONEncoder,
        then written: (UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Bool {
        try reply(
            parameters, continues: continues, writing: { try $0.encodeValue(parameters, level: 0) }, with: json,
            fallback: encoder, then: written)
    }

    /// Writes a reply as the one above, its parameters by their own ``VarlinkJSONCodable/write(to:)``.
    static func reply(
        json parameters: some VarlinkJSONCodable, continues: Bool, with json: JSONBufferEncoder,
        fallback encoder: JSONEncoder, then written: (UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Bool {
        try reply(
            parameters, continues: continues,
            writing: { json in
                var writer = VarlinkJSONWriter(json)
                parameters.write(to: &writer)
            }, with: json, fallback: encoder, then: written)
    }

    /// The reply of `parameters`, which `write` writes into `json`; JSONEncoder's when that did something `json`
    /// does not write as JSONEncoder would.
    private static func reply(
        _ parameters: some Encodable, continues: Bool, writing write: (JSONBufferEncoder) throws -> Void,
        with json: JSONBufferEncoder, fallback encoder: JSONEncoder,
        then written: (UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Bool {
        let result = try json.encode(
            { json in
                json.buffer.writeStaticString("{\"parameters\":")
                try write(json)
                json.buffer.writeStaticString(continues ? ",\"continues\":true}" : "}")
            }, then: written)
        if let result { return result }
        return try fallbackReply(parameters, continues: continues, with: encoder, then: written)
    }

    /// The reply by JSONEncoder. Not inlined: its `TypedReply` metadata would be looked up on every reply.
    @inline(never)
    private static func fallbackReply(
        _ parameters: some Encodable, continues: Bool, with encoder: JSONEncoder,
        then written: (UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Bool {
        try encoder.encode(TypedReply(parameters: parameters, continues: continues)).withUnsafeBytes(written)
    }

    /// Writes an error reply, `{"error":…,"parameters":…}`, as the reply above, and hands its bytes to `written`.
    static func reply(
        error: VarlinkError, with json: JSONBufferEncoder, fallback encoder: JSONEncoder,
        then written: (UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Bool {
        let result = try json.encode(
            { json in
                json.buffer.writeStaticString("{\"error\":")
                json.write(error.name)
                json.buffer.writeStaticString(",\"parameters\":")
                json.write(error.parameters)
                json.buffer.writeStaticString("}")
            }, then: written)
        if let result { return result }
        return try encoder.encode(VarlinkReplyMessage(parameters: error.parameters, error: error.name))
            .withUnsafeBytes(written)
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: some Sequence<UInt8>) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    /// `value` as a ``JSONValue``, through its JSON encoding.
    static func value(of value: some Encodable) throws -> JSONValue {
        try encode(value).withUnsafeBytes { raw throws(JSONParseError) in try JSONParser.parse(raw) }
    }

    /// Compact JSON text of `value`, keys sorted.
    static func text(of value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension VarlinkCallMessage {
    /// The call in `bytes` (one message, without its NUL), parsed once.
    ///
    /// - Throws: ``VarlinkProtocolError`` when the bytes are not JSON, not an object, or have no string `method`.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(VarlinkProtocolError) {
        try self.init(parsing: bytes, knownMethod: nil)
    }

    /// Parses a call as ``init(parsing:)`` does, with the method named as `knownMethod` given as that string
    /// (``VarlinkCallHeader``, as a server parses).
    init(parsing bytes: UnsafeRawBufferPointer, knownMethod: String?) throws(VarlinkProtocolError) {
        let header = try VarlinkCallHeader(parsing: bytes, knownMethod: knownMethod)
        method = header.method
        oneway = header.oneway
        more = header.more
        upgrade = header.upgrade
        parameters = nil
        if let range = header.parameters {
            do {
                parameters = try JSONParser.parse(UnsafeRawBufferPointer(rebasing: bytes[range]))
            } catch {
                throw VarlinkProtocolError(message: "\(error)")
            }
        }
    }
}

/// A call as a server reads it: its members, the parameters left as bytes (checked to be JSON), for the server to
/// check against the IDL and read into their type without a ``JSONValue`` of them.
struct VarlinkCallHeader {
    /// The fully qualified method, `interface.Method`.
    var method: String
    /// Where the parameters object is in the message; `nil` when the call has none (or `null`).
    var parameters: Range<Int>?
    var oneway: Bool?
    var more: Bool?
    var upgrade: Bool?

    /// Parses the call in `bytes` (one message, without its NUL); a method named as `knownMethod` is given as that
    /// very string (a server passes the method of the connection's last call: no `String` made per call).
    ///
    /// - Throws: ``VarlinkProtocolError`` when the bytes are not JSON, not an object, have no string `method`, or
    ///   parameters that are not an object.
    init(parsing bytes: UnsafeRawBufferPointer, knownMethod: String?) throws(VarlinkProtocolError) {
        // The members are taken as they are parsed (the last of a repeated name wins, as in an object).
        var method: JSONValue?
        var parameters: Range<Int>?
        var parametersAreObject = true
        var flags: (oneway: JSONValue?, more: JSONValue?, upgrade: JSONValue?)
        let isObject: Bool
        do {
            isObject = try JSONParser.forEachMember(of: bytes) { (name, parser) throws(JSONParseError) in
                if name.is("method") {
                    method = try parser.memberValue(reusing: knownMethod)
                } else if name.is("parameters") {
                    switch parser.peek() {
                    case UInt8(ascii: "{"):
                        let start = parser.index
                        try parser.skipValue(depth: 1)
                        (parameters, parametersAreObject) = (start..<parser.index, true)
                    case UInt8(ascii: "n"):
                        let value = try parser.memberValue()
                        (parameters, parametersAreObject) = (nil, value == .null)
                    default:
                        _ = try parser.memberValue()
                        (parameters, parametersAreObject) = (nil, false)
                    }
                } else if name.is("oneway") {
                    flags.oneway = try parser.memberValue()
                } else if name.is("more") {
                    flags.more = try parser.memberValue()
                } else if name.is("upgrade") {
                    flags.upgrade = try parser.memberValue()
                } else {
                    try parser.skipValue(depth: 1)
                }
            }
        } catch {
            throw VarlinkProtocolError(message: "\(error)")
        }
        guard isObject else {
            // Not an object: the same error as for a reply, malformed JSON first.
            _ = try VarlinkProtocolError.members(of: bytes, kind: "call")
            throw VarlinkProtocolError(message: "a call is not a JSON object")
        }
        guard case .string(let name)? = method else {
            throw VarlinkProtocolError(message: "a call has no string \"method\"")
        }
        guard parametersAreObject else {
            throw VarlinkProtocolError(message: "a call's \"parameters\" is not an object")
        }
        self.method = name
        self.parameters = parameters
        func flag(_ value: JSONValue?, _ name: String) throws(VarlinkProtocolError) -> Bool? {
            switch value {
            case nil, .null?: return nil
            case .bool(let value)?: return value
            default: throw VarlinkProtocolError(message: "a call's \"\(name)\" is not a bool")
            }
        }
        oneway = try flag(flags.oneway, "oneway")
        more = try flag(flags.more, "more")
        upgrade = try flag(flags.upgrade, "upgrade")
    }
}

extension VarlinkReplyMessage {
    /// The reply in `bytes` (one message, without its NUL), parsed once.
    ///
    /// - Throws: ``VarlinkProtocolError`` when the bytes are not JSON or not an object.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(VarlinkProtocolError) {
        let members = try VarlinkProtocolError.members(of: bytes, kind: "reply")
        parameters = members["parameters"] == .null ? nil : members["parameters"]
        continues = members["continues"] == .bool(true) ? true : nil
        error = members["error"]?.stringValue
    }
}

extension VarlinkProtocolError {
    /// The members of the JSON object one message carries; `kind` ("call", "reply") names it in the error.
    fileprivate static func members(
        of bytes: UnsafeRawBufferPointer, kind: String
    ) throws(VarlinkProtocolError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw VarlinkProtocolError(message: "\(error)")
        }
        guard case .object(let members) = value else {
            throw VarlinkProtocolError(message: "a \(kind) is not a JSON object")
        }
        return members
    }
}
