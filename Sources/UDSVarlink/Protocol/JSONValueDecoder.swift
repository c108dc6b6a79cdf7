/// Decodes `Decodable` types from a ``JSONValue`` already parsed, so that a call's bytes are parsed once: into the
/// value the validator checks, then into the handler's typed parameters without a second parse.
struct JSONValueDecoder {
    /// Decodes `type` from `value`.
    ///
    /// - Throws: `DecodingError` as `JSONDecoder` would, with the coding path of the offending value.
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: []))
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch([String: JSONValue].self, value, codingPath) }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch([JSONValue].self, value, codingPath) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath)
    }
}

private func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
    .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(value.kindName)"))
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(_ index: Int) {
        intValue = index
        stringValue = "\(index)"
    }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.init(intValue) }
}

/// Scalars, shared by the single-value and unkeyed containers.
/// `path` is made only for an error or a nested value: a scalar decodes without allocating one.
private func decodeScalar<T: Decodable>(
    _ type: T.Type, _ value: JSONValue, _ path: @autoclosure () -> [any CodingKey]
) throws -> T {
    if let value = value as? T { return value }  // T is JSONValue
    switch value {
    case .bool(let bool): if let bool = bool as? T { return bool }
    case .string(let string): if let string = string as? T { return string }
    case .double(let double):
        if let double = double as? T { return double }
        if let float = Float(double) as? T { return float }
    case .int(let int):
        if let double = Double(int) as? T { return double }
        if let float = Float(int) as? T { return float }
    default: break
    }
    switch value {
    case .int(let int):
        if let result = integer(type, int) { return result }
    case .double(let double) where double.rounded() == double && abs(double) < 9e15:
        if let result = integer(type, Int64(double)) { return result }
    default: break
    }
    if isScalar(type) { throw mismatch(type, value, path()) }
    return try T(from: ValueDecoder(value: value, codingPath: path()))
}

private func isScalar(_ type: Any.Type) -> Bool {
    type == Bool.self || type == String.self || type == Double.self || type == Float.self || type == Int.self
        || type == Int64.self || type == Int32.self || type == Int16.self || type == Int8.self || type == UInt.self
        || type == UInt64.self || type == UInt32.self || type == UInt16.self || type == UInt8.self
}

private func integer<T>(_ type: T.Type, _ value: Int64) -> T? {
    switch type {
    case is Int.Type: return Int(exactly: value) as? T
    case is Int64.Type: return value as? T
    case is Int32.Type: return Int32(exactly: value) as? T
    case is Int16.Type: return Int16(exactly: value) as? T
    case is Int8.Type: return Int8(exactly: value) as? T
    case is UInt.Type: return UInt(exactly: value) as? T
    case is UInt64.Type: return UInt64(exactly: value) as? T
    case is UInt32.Type: return UInt32(exactly: value) as? T
    case is UInt16.Type: return UInt16(exactly: value) as? T
    case is UInt8.Type: return UInt8(exactly: value) as? T
    default: return nil
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if case .null = value, isScalar(type) {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "found null"))
        }
        return try decodeScalar(type, value, codingPath)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "no value for \"\(key.stringValue)\""))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }

    // Strings and bools, the commonest members, without the generic path's dynamic casts.
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        if case .string(let string) = try member(key) { return string }
        return try decode(type, orThrowForKey: key)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        if case .bool(let bool) = try member(key) { return bool }
        return try decode(type, orThrowForKey: key)
    }

    /// The generic path, for the errors it throws.
    private func decode<T: Decodable>(_ type: T.Type, orThrowForKey key: Key) throws -> T {
        try decode(type, forKey: key)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let value = try member(key)
        if case .null = value, isScalar(type) {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath + [key], debugDescription: "found null"))
        }
        return try decodeScalar(type, value, codingPath + [key])
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = members[key.stringValue], value != .null else { return nil }
        return try decodeScalar(type, value, codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try ValueDecoder(value: try member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: .object(members), codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next<T>(_ type: T.Type) throws -> (JSONValue, index: Int) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "array ended"))
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], currentIndex)
    }

    private func path(_ index: Int) -> [any CodingKey] { codingPath + [IndexKey(index)] }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, index) = try next(type)
        if case .null = value, isScalar(type) {
            throw DecodingError.valueNotFound(type, .init(codingPath: path(index), debugDescription: "found null"))
        }
        return try decodeScalar(type, value, path(index))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let (value, index) = try next([String: JSONValue].self)
        return try ValueDecoder(value: value, codingPath: path(index)).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, index) = try next([JSONValue].self)
        return try ValueDecoder(value: value, codingPath: path(index)).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, index) = try next(JSONValue.self)
        return ValueDecoder(value: value, codingPath: path(index))
    }
}
