#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// The Encoder and containers that JSONBufferEncoder hands to a value's encode(to:): each writes straight into the
// encoder's bytes.

/// The `Encoder` one value sees: its containers open at `level`.
struct JSONBufferValueEncoder: Encoder {
    let state: JSONBufferEncoder
    let level: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(
            JSONBufferKeyedContainer(state: state, depth: level, id: state.open(at: level, object: true)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        JSONBufferUnkeyedContainer(state: state, depth: level, id: state.open(at: level, object: false))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONBufferSingleValueContainer(state: state, level: level)
    }
}

struct JSONBufferKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: JSONBufferEncoder
    /// The index of this container's frame.
    let depth: Int
    let id: Int
    var codingPath: [any CodingKey] { [] }

    private func begin(_ key: Key) {
        state.beginElement(depth: depth, id: id)
        state.writeKey(key)
    }

    mutating func encodeNil(forKey key: Key) throws {
        begin(key)
        state.writeNull()
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: Int8, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: Int16, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        begin(key)
        state.write(value)
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        begin(key)
        try state.encodeValue(value, level: depth + 1)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        begin(key)
        return KeyedEncodingContainer(
            JSONBufferKeyedContainer<NestedKey>(state: state, depth: depth + 1, id: state.push(object: true)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        begin(key)
        return JSONBufferUnkeyedContainer(state: state, depth: depth + 1, id: state.push(object: false))
    }

    mutating func superEncoder() -> any Encoder {
        state.fail()
        return JSONBufferValueEncoder(state: state, level: depth + 1)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        state.fail()
        return JSONBufferValueEncoder(state: state, level: depth + 1)
    }
}

struct JSONBufferUnkeyedContainer: UnkeyedEncodingContainer {
    let state: JSONBufferEncoder
    let depth: Int
    let id: Int
    var codingPath: [any CodingKey] { [] }
    var count: Int { state.count(depth: depth, id: id) }

    private func begin() { state.beginElement(depth: depth, id: id) }

    mutating func encodeNil() throws {
        begin()
        state.writeNull()
    }
    mutating func encode(_ value: Bool) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: String) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: Double) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: Float) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: Int) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: Int8) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: Int16) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: Int32) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: Int64) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: UInt) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: UInt8) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: UInt16) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: UInt32) throws {
        begin()
        state.write(value)
    }
    mutating func encode(_ value: UInt64) throws {
        begin()
        state.write(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        begin()
        try state.encodeValue(value, level: depth + 1)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        begin()
        return KeyedEncodingContainer(
            JSONBufferKeyedContainer<NestedKey>(state: state, depth: depth + 1, id: state.push(object: true)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        begin()
        return JSONBufferUnkeyedContainer(state: state, depth: depth + 1, id: state.push(object: false))
    }

    mutating func superEncoder() -> any Encoder {
        state.fail()
        return JSONBufferValueEncoder(state: state, level: depth + 1)
    }
}

struct JSONBufferSingleValueContainer: SingleValueEncodingContainer {
    let state: JSONBufferEncoder
    let level: Int
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws {
        state.beginSingle(level: level)
        state.writeNull()
    }
    mutating func encode(_ value: Bool) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: String) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: Double) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: Float) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: Int) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: Int8) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: Int16) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: Int32) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: Int64) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: UInt) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: UInt8) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: UInt16) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: UInt32) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode(_ value: UInt64) throws {
        state.beginSingle(level: level)
        state.write(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        state.beginSingle(level: level)
        try state.encodeValue(value, level: level)
    }
}
