/// Reads a ``VarlinkJSONCodable`` value straight from a call's JSON bytes, without a ``JSONValue`` of them.
///
/// A struct reads itself as an object, member by member. This one skips members it does not know; the generated
/// types refuse them instead (`throw try name.unknown()`), as the IDL does:
///
/// ```swift
/// init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) {
///     var ping: String?
///     try json.readObject { (name, json) throws(VarlinkJSONError) in
///         if name.is("ping") { ping = try json.read(member: "ping") } else { try json.skip() }
///     }
///     self.ping = try VarlinkJSONReader.required(ping, member: "ping")
/// }
/// ```
///
/// A reader reads one value; each read moves past what it read. Why not a `JSONValue`: parsing a call's parameters
/// into a dictionary, reading it and checking it against the IDL was a quarter of a varlink server's time per
/// pipelined call (`perf`, BENCHMARKS.md "Varlink").
public struct VarlinkJSONReader {
    var parser: JSONParser
    /// How deep the value at the parser is nested in the bytes.
    private var depth = 1

    /// A reader of the one JSON value in `bytes`, which stay valid while it is used.
    init(_ bytes: UnsafeRawBufferPointer) { parser = JSONParser(bytes) }

    /// A member's name, as ``readObject(_:)`` hands it over.
    public struct Name {
        let token: JSONParser.StringToken
        let parser: JSONParser

        /// Whether the name is `name`.
        public func `is`(_ name: StaticString) -> Bool { token.is(name) }

        /// The error of a member the type has not: the member named, as the IDL check names one.
        public func unknown() throws(VarlinkJSONError) -> VarlinkJSONError {
            VarlinkJSONError(problem: "no such member").inMember(try string())
        }

        /// The name as a `String`.
        public func string() throws(VarlinkJSONError) -> String {
            do {
                return try parser.string(token)
            } catch {
                throw VarlinkJSONError(problem: "\(error)")
            }
        }
    }

    /// Reads an object, handing `body` each member's name with the reader at its value, in order; `body` reads the
    /// value or ``skip()``s it.
    ///
    /// - Throws: ``VarlinkJSONError`` when the value is no object, or what `body` throws.
    public mutating func readObject(
        _ body: (Name, inout VarlinkJSONReader) throws(VarlinkJSONError) -> Void
    ) throws(VarlinkJSONError) {
        guard parser.peek() == UInt8(ascii: "{") else { throw try mismatch("an object") }
        var more = try parsing { (reader) throws(JSONParseError) in
            try reader.parser.enterObject(depth: reader.depth + 1)
        }
        while more {
            let token = try parsing { (reader) throws(JSONParseError) in try reader.parser.memberName() }
            depth += 1
            defer { depth -= 1 }
            try body(Name(token: token, parser: parser), &self)
            more = try parsing { (reader) throws(JSONParseError) in try reader.parser.nextMember() }
        }
    }

    /// Reads an array, handing `body` each element's index with the reader at the element.
    ///
    /// - Throws: ``VarlinkJSONError`` when the value is no array, or what `body` throws.
    public mutating func readArray(
        _ body: (Int, inout VarlinkJSONReader) throws(VarlinkJSONError) -> Void
    ) throws(VarlinkJSONError) {
        guard parser.peek() == UInt8(ascii: "[") else { throw try mismatch("an array") }
        var more = try parsing { (reader) throws(JSONParseError) in
            try reader.parser.enterArray(depth: reader.depth + 1)
        }
        var index = 0
        while more {
            depth += 1
            defer { depth -= 1 }
            try body(index, &self)
            index += 1
            more = try parsing { (reader) throws(JSONParseError) in try reader.parser.nextElement() }
        }
    }

    /// Reads the value of the member `name` (whose name ``readObject(_:)`` just handed over) as a `Value`, an error
    /// in it named as one of that member.
    @inlinable
    public mutating func read<Value: VarlinkJSONCodable>(member name: StaticString) throws(VarlinkJSONError) -> Value {
        do {
            return try Value(varlinkJSON: &self)
        } catch {
            throw error.inMember("\(name)")
        }
    }

    /// Reads the value, whatever it is, as a ``JSONValue``.
    public mutating func readValue() throws(VarlinkJSONError) -> JSONValue {
        try parsing { (reader) throws(JSONParseError) in try reader.parser.value(depth: reader.depth) }
    }

    /// Reads a `null` if there is one; whether there was.
    public mutating func readNull() throws(VarlinkJSONError) -> Bool {
        guard parser.peek() == UInt8(ascii: "n") else { return false }
        _ = try readValue()
        return true
    }

    /// Moves past the value, unread.
    public mutating func skip() throws(VarlinkJSONError) {
        try parsing { (reader) throws(JSONParseError) in try reader.parser.skipValue(depth: reader.depth) }
    }

    /// `value`, a member `name` read by ``readObject(_:)``; an error when it did not come.
    @inlinable
    public static func required<Value>(_ value: Value?, member name: StaticString) throws(VarlinkJSONError) -> Value {
        guard let value else { throw VarlinkJSONError(problem: "a required member is missing").inMember("\(name)") }
        return value
    }

    /// The error of a value that is not `expected`, naming what it is (read to tell).
    private mutating func mismatch(_ expected: String) throws(VarlinkJSONError) -> VarlinkJSONError {
        VarlinkJSONError(expected: expected, found: try readValue())
    }

    /// What `body` returns, a JSON syntax error in it as a ``VarlinkJSONError``.
    private mutating func parsing<T>(
        _ body: (inout VarlinkJSONReader) throws(JSONParseError) -> T
    ) throws(VarlinkJSONError) -> T {
        do {
            return try body(&self)
        } catch {
            throw VarlinkJSONError(problem: "\(error)")
        }
    }
}
