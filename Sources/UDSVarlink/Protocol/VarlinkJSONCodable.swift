/// A type that reads and writes its varlink JSON itself, without `Codable`'s containers: what the types that
/// `VarlinkGenerator` makes conform to, so that a server's handlers read their parameters straight from the call's
/// bytes and write their replies straight into the connection's reply encoder.
///
/// Why besides `Codable`: a call's parameters decoded through a `Decoder`, and its reply encoded through an `Encoder`,
/// box a keyed container and look up its generic metadata at run time on every call; that was 25% of a varlink
/// server's time per pipelined call (`perf`, BENCHMARKS.md "Varlink"). ``VarlinkMethods`` takes this path when both a
/// method's parameters and its reply conform, and `Codable` otherwise. The bytes are those `Codable` would write
/// (members in declaration order, `nil` optionals left out).
///
/// Conforming: `Bool`, `Int`, `Double`, `String`, ``JSONValue``, ``VarlinkStringSet``, ``VarlinkEmpty``, and arrays,
/// `[String: Value]` dictionaries and optionals of conforming types.
public protocol VarlinkJSONCodable: Codable {
    /// Reads the value from `json`, moving past it.
    ///
    /// - Throws: ``VarlinkJSONError`` naming the member that does not fit.
    init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError)

    /// Writes the value's JSON.
    func write(to json: inout VarlinkJSONWriter)
}

/// The parameters of a method, made by `VarlinkGenerator` from an interface definition: their reader checks what the
/// IDL check does (the types, and every member known and present unless optional, all the way down), so a server
/// serving that method from that very definition reads a call's parameters without checking them against the IDL
/// first (a tenth of its time per call).
public protocol VarlinkGeneratedParameters: VarlinkJSONCodable {
    /// The interface definition they were made from, as given to ``VarlinkService/addInterface(_:_:)``.
    static var varlinkInterfaceDescription: String { get }
    /// The method, unqualified, whose parameters they are.
    static var varlinkMethodName: String { get }
}

/// A value that does not fit the type it is read as: where it is (``path``, as varlink's `InvalidParameter` names a
/// parameter: `config.names[2]`) and what was wrong.
public struct VarlinkJSONError: Error, Sendable {
    /// The member path from the outermost value; empty for the value itself.
    public private(set) var path: String
    /// What was expected and what was found, for a log line.
    public let problem: String

    public init(expected: String, found json: JSONValue) {
        self.init(problem: "expected \(expected), found \(json.kindName)")
    }

    @usableFromInline init(problem: String) {
        path = ""
        self.problem = problem
    }

    /// This error as one of the member `name` of an object.
    public func inMember(_ name: String) -> VarlinkJSONError {
        var error = self
        error.path = path.isEmpty ? name : path.hasPrefix("[") ? name + path : name + "." + path
        return error
    }

    /// This error as one of the element `index` of an array.
    func inElement(_ index: Int) -> VarlinkJSONError {
        var error = self
        error.path = "[\(index)]" + (path.isEmpty || path.hasPrefix("[") ? path : "." + path)
        return error
    }
}

extension Bool: VarlinkJSONCodable {
    public init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) {
        let value = try json.readValue()
        guard case .bool(let bool) = value else { throw VarlinkJSONError(expected: "a bool", found: value) }
        self = bool
    }

    public func write(to json: inout VarlinkJSONWriter) { json.encoder.write(self) }
}

extension Int: VarlinkJSONCodable {
    /// From an integer, or a float with no fraction below 9e15 in size, as the IDL check takes one.
    public init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) {
        let value = try json.readValue()
        let int: Int? =
            switch value {
            case .int(let int): Int(exactly: int)
            case .double(let double) where abs(double) < 9e15: Int(exactly: double)
            default: nil
            }
        guard let int else { throw VarlinkJSONError(expected: "an int", found: value) }
        self = int
    }

    public func write(to json: inout VarlinkJSONWriter) { json.encoder.write(self) }
}

extension Double: VarlinkJSONCodable {
    public init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) {
        let value = try json.readValue()
        switch value {
        case .double(let double): self = double
        case .int(let int): self = Double(int)
        default: throw VarlinkJSONError(expected: "a float", found: value)
        }
    }

    /// A float's shortest text; a value that is not finite makes the reply fall back to `JSONEncoder`, which refuses it.
    public func write(to json: inout VarlinkJSONWriter) { json.encoder.write(self) }
}

extension String: VarlinkJSONCodable {
    public init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) {
        let value = try json.readValue()
        guard case .string(let string) = value else { throw VarlinkJSONError(expected: "a string", found: value) }
        self = string
    }

    public func write(to json: inout VarlinkJSONWriter) { json.encoder.write(self) }
}

extension JSONValue: VarlinkJSONCodable {
    public init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) { self = try json.readValue() }

    public func write(to json: inout VarlinkJSONWriter) { json.encoder.write(self) }
}

extension Optional: VarlinkJSONCodable where Wrapped: VarlinkJSONCodable {
    /// `nil` from `null`.
    public init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) {
        self = try json.readNull() ? nil : try Wrapped(varlinkJSON: &json)
    }

    public func write(to json: inout VarlinkJSONWriter) {
        if let self { self.write(to: &json) } else { json.encoder.writeNull() }
    }
}

extension Array: VarlinkJSONCodable where Element: VarlinkJSONCodable {
    public init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) {
        var elements: [Element] = []
        try json.readArray { (index, json) throws(VarlinkJSONError) in
            do throws(VarlinkJSONError) {
                elements.append(try Element(varlinkJSON: &json))
            } catch {
                throw error.inElement(index)
            }
        }
        self = elements
    }

    public func write(to json: inout VarlinkJSONWriter) {
        json.encoder.buffer.writeInteger(UInt8(ascii: "["))
        for (index, element) in enumerated() {
            if index > 0 { json.encoder.buffer.writeInteger(UInt8(ascii: ",")) }
            element.write(to: &json)
        }
        json.encoder.buffer.writeInteger(UInt8(ascii: "]"))
    }
}

extension Dictionary: VarlinkJSONCodable where Key == String, Value: VarlinkJSONCodable {
    /// The last of a repeated key wins, as in a parsed object.
    public init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) {
        var members: [String: Value] = [:]
        try json.readObject { (name, json) throws(VarlinkJSONError) in
            let key = try name.string()
            do throws(VarlinkJSONError) {
                members[key] = try Value(varlinkJSON: &json)
            } catch {
                throw error.inMember(key)
            }
        }
        self = members
    }

    public func write(to json: inout VarlinkJSONWriter) {
        var object = json.beginObject()
        for (key, value) in self { json.write(value, forKey: key, in: &object) }
        json.end(object)
    }
}

extension VarlinkStringSet: VarlinkJSONCodable {
    /// The names of an object's members, whatever their values.
    public init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) {
        var values: Set<String> = []
        try json.readObject { (name, json) throws(VarlinkJSONError) in
            values.insert(try name.string())
            try json.skip()
        }
        self.init(values)
    }

    /// The names in order, as its `encode(to:)` writes them.
    public func write(to json: inout VarlinkJSONWriter) {
        var object = json.beginObject()
        for value in values.sorted() { json.write(VarlinkEmpty(), forKey: value, in: &object) }
        json.end(object)
    }
}

extension VarlinkEmpty: VarlinkJSONCodable {
    /// From any object.
    public init(varlinkJSON json: inout VarlinkJSONReader) throws(VarlinkJSONError) {
        try json.readObject { (_, json) throws(VarlinkJSONError) in try json.skip() }
    }

    public func write(to json: inout VarlinkJSONWriter) { json.encoder.buffer.writeStaticString("{}") }
}
