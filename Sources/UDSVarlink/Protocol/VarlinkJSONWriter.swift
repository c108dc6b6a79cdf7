/// Writes a ``VarlinkJSONCodable`` value's JSON as compact bytes, straight into the reply a server is encoding.
///
/// A struct writes itself as an object, member by member:
///
/// ```swift
/// func write(to json: inout VarlinkJSONWriter) {
///     var object = json.beginObject()
///     json.write(pong, forKey: "pong", in: &object)
///     json.writeIfPresent(note, forKey: "note", in: &object)    // an optional: left out when nil
///     json.end(object)
/// }
/// ```
///
/// Strings are escaped as `JSONEncoder` escapes them; a float that is not finite makes the whole reply fall back to
/// `JSONEncoder`, which refuses it with an error.
public struct VarlinkJSONWriter {
    let encoder: JSONBufferEncoder

    init(_ encoder: JSONBufferEncoder) { self.encoder = encoder }

    /// An object being written: whether a member came yet.
    public struct Object {
        var isEmpty = true
    }

    /// Writes `{` and returns the object, for its members and ``end(_:)``.
    public mutating func beginObject() -> Object {
        encoder.buffer.writeInteger(UInt8(ascii: "{"))
        return Object()
    }

    /// Writes the member `key` of `object`.
    public mutating func write(_ value: some VarlinkJSONCodable, forKey key: String, in object: inout Object) {
        writeKey(key, in: &object)
        value.write(to: &self)
    }

    /// Writes the member `key` of `object` unless `value` is `nil`, as `Codable`'s synthesized `encode(to:)` does.
    public mutating func writeIfPresent(
        _ value: (some VarlinkJSONCodable)?, forKey key: String, in object: inout Object
    ) {
        guard let value else { return }
        write(value, forKey: key, in: &object)
    }

    /// Writes `}`.
    public mutating func end(_ object: Object) {
        encoder.buffer.writeInteger(UInt8(ascii: "}"))
    }

    private mutating func writeKey(_ key: String, in object: inout Object) {
        if !object.isEmpty { encoder.buffer.writeInteger(UInt8(ascii: ",")) }
        object.isEmpty = false
        encoder.write(key)
        encoder.buffer.writeInteger(UInt8(ascii: ":"))
    }
}
