/// A type that reads its varlink JSON from a parsed ``JSONValue`` and writes it as bytes itself, without `Codable`'s
/// containers: what the types that `VarlinkGenerator` makes conform to, so that a server's handlers decode their
/// parameters and encode their replies directly.
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
    /// Reads the value from `json`.
    ///
    /// - Throws: ``VarlinkJSONError`` naming the member that does not fit.
    init(varlinkJSON json: JSONValue) throws(VarlinkJSONError)

    /// Writes the value's JSON.
    func write(to json: inout VarlinkJSONWriter)
}

/// A value that does not fit the type it is read as: where it is (``path``, as varlink's `InvalidParameter` names a
/// parameter: `config.names[2]`) and what was wrong.
public struct VarlinkJSONError: Error, Sendable {
    /// The member path from the outermost value; empty for the value itself.
    public private(set) var path: String
    /// What was expected and what was found, for a log line.
    public let problem: String

    public init(expected: String, found json: JSONValue) {
        path = ""
        problem = "expected \(expected), found \(json.kindName)"
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

/// The members of a JSON object, for a ``VarlinkJSONCodable`` struct's `init(varlinkJSON:)` to read.
public struct VarlinkJSONMembers {
    let members: [String: JSONValue]

    /// The members of `json`.
    ///
    /// - Throws: ``VarlinkJSONError`` when `json` is not an object.
    public init(_ json: JSONValue) throws(VarlinkJSONError) {
        guard case .object(let members) = json else { throw VarlinkJSONError(expected: "an object", found: json) }
        self.members = members
    }

    /// The member `name` as a `Value`; a missing member reads as `null` (so an optional is `nil`).
    public func value<Value: VarlinkJSONCodable>(_ name: String) throws(VarlinkJSONError) -> Value {
        do {
            return try Value(varlinkJSON: members[name] ?? .null)
        } catch {
            throw error.inMember(name)
        }
    }
}

extension Bool: VarlinkJSONCodable {
    public init(varlinkJSON json: JSONValue) throws(VarlinkJSONError) {
        guard case .bool(let bool) = json else { throw VarlinkJSONError(expected: "a bool", found: json) }
        self = bool
    }

    public func write(to json: inout VarlinkJSONWriter) { json.encoder.write(self) }
}

extension Int: VarlinkJSONCodable {
    /// From an integer, or a float with no fraction (as `JSONDecoder` takes one).
    public init(varlinkJSON json: JSONValue) throws(VarlinkJSONError) {
        let value: Int? =
            switch json {
            case .int(let int): Int(exactly: int)
            case .double(let double): Int(exactly: double)
            default: nil
            }
        guard let value else { throw VarlinkJSONError(expected: "an int", found: json) }
        self = value
    }

    public func write(to json: inout VarlinkJSONWriter) { json.encoder.write(self) }
}

extension Double: VarlinkJSONCodable {
    public init(varlinkJSON json: JSONValue) throws(VarlinkJSONError) {
        switch json {
        case .double(let double): self = double
        case .int(let int): self = Double(int)
        default: throw VarlinkJSONError(expected: "a float", found: json)
        }
    }

    /// A float's shortest text; a value that is not finite makes the reply fall back to `JSONEncoder`, which refuses it.
    public func write(to json: inout VarlinkJSONWriter) { json.encoder.write(self) }
}

extension String: VarlinkJSONCodable {
    public init(varlinkJSON json: JSONValue) throws(VarlinkJSONError) {
        guard case .string(let string) = json else { throw VarlinkJSONError(expected: "a string", found: json) }
        self = string
    }

    public func write(to json: inout VarlinkJSONWriter) { json.encoder.write(self) }
}

extension JSONValue: VarlinkJSONCodable {
    public init(varlinkJSON json: JSONValue) { self = json }

    public func write(to json: inout VarlinkJSONWriter) { json.encoder.write(self) }
}

extension Optional: VarlinkJSONCodable where Wrapped: VarlinkJSONCodable {
    /// `nil` from `null` (and from a missing member).
    public init(varlinkJSON json: JSONValue) throws(VarlinkJSONError) {
        self = json == .null ? nil : try Wrapped(varlinkJSON: json)
    }

    public func write(to json: inout VarlinkJSONWriter) {
        if let self { self.write(to: &json) } else { json.encoder.writeNull() }
    }
}

extension Array: VarlinkJSONCodable where Element: VarlinkJSONCodable {
    public init(varlinkJSON json: JSONValue) throws(VarlinkJSONError) {
        guard case .array(let elements) = json else { throw VarlinkJSONError(expected: "an array", found: json) }
        self = []
        reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            do {
                append(try Element(varlinkJSON: element))
            } catch {
                throw error.inElement(index)
            }
        }
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
    public init(varlinkJSON json: JSONValue) throws(VarlinkJSONError) {
        guard case .object(let members) = json else { throw VarlinkJSONError(expected: "an object", found: json) }
        self = [:]
        reserveCapacity(members.count)
        for (key, member) in members {
            do {
                self[key] = try Value(varlinkJSON: member)
            } catch {
                throw error.inMember(key)
            }
        }
    }

    public func write(to json: inout VarlinkJSONWriter) {
        var object = json.beginObject()
        for (key, value) in self { json.write(value, forKey: key, in: &object) }
        json.end(object)
    }
}

extension VarlinkStringSet: VarlinkJSONCodable {
    public init(varlinkJSON json: JSONValue) throws(VarlinkJSONError) {
        guard case .object(let members) = json else { throw VarlinkJSONError(expected: "an object", found: json) }
        self.init(Set(members.keys))
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
    public init(varlinkJSON json: JSONValue) throws(VarlinkJSONError) {
        guard case .object = json else { throw VarlinkJSONError(expected: "an object", found: json) }
    }

    public func write(to json: inout VarlinkJSONWriter) { json.encoder.buffer.writeStaticString("{}") }
}
