import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Encodes an `Encodable` value as compact JSON in one pass, as its `encode(to:)` calls come, into bytes of its own
/// that are then copied once, into a connection's outbound queue: the server's encoder for replies, one kept per
/// connection.
///
/// Why not only `JSONEncoder` (FoundationEssentials', the field package): it builds a tree of boxed values, a
/// dictionary per object, serializes the tree to `Data`, and the reply then copied that into a buffer; for
/// varlink's small replies that was about 35% of the server's time per call (`perf`, BENCHMARKS.md "Varlink"). This
/// writes the bytes JSONEncoder writes with its default options (slashes escaped as `\/`, a float's shortest text
/// without a trailing `.0`), except that an object's keys come in the order they were encoded rather than in a
/// dictionary's order, and a key encoded twice appears twice. What it would not write the same way makes
/// ``encode(_:into:)`` return `false`, and the caller encodes with `JSONEncoder` instead: `Data`, `URL` and
/// `Decimal` (which JSONEncoder special-cases), non-finite floats (which it refuses), `superEncoder`, a container
/// written to after a later sibling's (not in stack order), and any error the value throws (so the caller's
/// JSONEncoder reports it, with its coding path). Coding paths are empty here.
final class JSONBufferEncoder {
    // Unchecked exclusivity: one encoder serves one encode on one thread, and its accesses never overlap (each
    // write is a call that returns before the next); a check per byte written cost more than the writing.
    @exclusivity(unchecked) var buffer = JSONOutput(capacity: 256)
    /// Set once the value did something this encoder does not write as JSONEncoder would.
    @exclusivity(unchecked) private(set) var failed = false
    /// The open containers, innermost last.
    @exclusivity(unchecked) private var frames: [Frame] = []
    @exclusivity(unchecked) private var nextID = 0

    private struct Frame {
        let id: Int
        let isObject: Bool
        var count = 0
    }

    deinit { buffer.deallocate() }

    /// Appends `value`'s JSON to `buffer`; `false` (and `buffer` as it was) when JSONEncoder has to do it.
    static func encode(_ value: some Encodable, into buffer: inout ByteBuffer) -> Bool {
        encode(into: &buffer) { try $0.encodeValue(value, level: 0) }
    }

    /// Runs `body` on an encoder writing after `buffer`'s bytes; `false` and `buffer` untouched if it failed.
    static func encode(into buffer: inout ByteBuffer, _ body: (JSONBufferEncoder) throws -> Void) -> Bool {
        JSONBufferEncoder().encode(body) { bytes in
            buffer.writeBytes(bytes)
            return true
        } != nil
    }

    /// Runs `body` on this encoder from empty and hands `written` the bytes, unless it did something this encoder
    /// does not write as JSONEncoder would: then it returns `nil` without calling `written`. An encoder kept for
    /// several values (a connection's replies, one at a time) costs no allocation per value; one that grew past
    /// 64 KiB gives the memory back after the value.
    ///
    /// Not generic in what `written` returns: a generic result here cost a metadata look-up per reply.
    func encode<Failure: Error>(
        _ body: (JSONBufferEncoder) throws -> Void, then written: (UnsafeRawBufferPointer) throws(Failure) -> Bool
    ) throws(Failure) -> Bool? {
        failed = false
        frames.removeAll(keepingCapacity: true)
        nextID = 0
        buffer.removeAll()
        defer { buffer.removeAll(keepingAtMost: 64 * 1024) }
        do {
            try body(self)
        } catch {
            failed = true
        }
        if failed { return nil }
        return try written(buffer.bytes)
    }

    // MARK: Values

    func encodeValue<T: Encodable>(_ value: T, level: Int) throws {
        if T.self == Data.self || T.self == URL.self || T.self == Decimal.self { return fail() }
        if T.self == JSONValue.self, let json = value as? JSONValue { return write(json) }
        let start = buffer.writerIndex
        try value.encode(to: JSONBufferValueEncoder(state: self, level: level))
        close(above: level)
        // A value that encodes nothing is an empty object, as in JSONEncoder.
        if buffer.writerIndex == start { buffer.writeStaticString("{}") }
    }

    func write(_ value: JSONValue) {
        switch value {
        case .null: writeNull()
        case .bool(let bool): write(bool)
        case .int(let int): write(int)
        case .double(let double): write(double)
        case .string(let string): write(string)
        case .array(let elements):
            buffer.writeInteger(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                write(element)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let members):
            buffer.writeInteger(UInt8(ascii: "{"))
            var first = true
            for (key, member) in members {
                if !first { buffer.writeInteger(UInt8(ascii: ",")) }
                first = false
                write(key)
                buffer.writeInteger(UInt8(ascii: ":"))
                write(member)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    func writeNull() { buffer.writeStaticString("null") }

    func write(_ value: Bool) { buffer.writeStaticString(value ? "true" : "false") }

    func write<T: BinaryInteger>(_ value: T) {
        // Digits of the magnitude, last first, into a stack buffer: no String per number.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { digits in
            var magnitude = value.magnitude
            var index = digits.count
            repeat {
                index -= 1
                digits[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude != 0
            if value < 0 {
                index -= 1
                digits[index] = UInt8(ascii: "-")
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(digits)[index...]))
        }
    }

    func write<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T) {
        guard value.isFinite else { return fail() }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        buffer.writeString(text)
    }

    /// A JSON string: `"`, `\`, `/` and the control characters escaped, as JSONEncoder does; other bytes as they are.
    func write(_ string: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var run = 0  // start of the bytes not yet written
            for index in utf8.indices {
                let byte = utf8[index]
                guard
                    byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "/")
                else { continue }
                if run < index {
                    buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[run..<index])))
                }
                run = index + 1
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case UInt8(ascii: "/"): buffer.writeStaticString("\\/")
                case 0x08: buffer.writeStaticString("\\b")
                case 0x0C: buffer.writeStaticString("\\f")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                default:
                    let hex: StaticString = "0123456789abcdef"
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(hex.utf8Start[Int(byte >> 4)])
                    buffer.writeInteger(hex.utf8Start[Int(byte & 0xF)])
                }
            }
            if run < utf8.count {
                buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[run...])))
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    func writeKey(_ key: some CodingKey) {
        write(key.stringValue)
        buffer.writeInteger(UInt8(ascii: ":"))
    }

    // MARK: Containers

    func fail() { failed = true }

    /// Writes the closing brackets of the containers nested deeper than `level`.
    func close(above level: Int) {
        while frames.count > level {
            buffer.writeInteger(frames.removeLast().isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    /// The container of the value at `level`: opened now, or the one it opened before (asking twice is allowed).
    func open(at level: Int, object: Bool) -> Int {
        if frames.count > level {
            close(above: level + 1)
            if frames[level].isObject != object { fail() }
            return frames[level].id
        }
        guard frames.count == level else {
            fail()
            return -1
        }
        return push(object: object)
    }

    /// Opens a container after what is written so far.
    func push(object: Bool) -> Int {
        nextID += 1
        frames.append(Frame(id: nextID, isObject: object))
        buffer.writeInteger(object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        return nextID
    }

    /// Starts an element of container `id` at `depth`: closes what was nested in it, writes the comma.
    func beginElement(depth: Int, id: Int) {
        guard frames.count > depth, frames[depth].id == id else { return fail() }
        close(above: depth + 1)
        if frames[depth].count > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
        frames[depth].count += 1
    }

    /// Starts the single value of the value at `level`.
    func beginSingle(level: Int) {
        guard frames.count >= level else { return fail() }
        close(above: level)
    }

    func count(depth: Int, id: Int) -> Int {
        guard frames.count > depth, frames[depth].id == id else { return 0 }
        return frames[depth].count
    }
}

/// The bytes an encoder has written: a growable allocation, without a `ByteBuffer`'s copy-on-write and bounds
/// bookkeeping per write (the replies are written a few bytes at a time). Its ``JSONBufferEncoder`` owns it and
/// frees it.
struct JSONOutput {
    private var start: UnsafeMutableRawPointer
    private(set) var writerIndex = 0
    private var capacity: Int

    init(capacity: Int) {
        start = .allocate(byteCount: capacity, alignment: 1)
        self.capacity = capacity
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: writerIndex) }

    func deallocate() { start.deallocate() }

    /// Forgets the bytes written; with `keepingAtMost`, memory beyond that many bytes goes back to the allocator.
    mutating func removeAll(keepingAtMost limit: Int = .max) {
        writerIndex = 0
        guard capacity > limit else { return }
        start.deallocate()
        capacity = 256
        start = .allocate(byteCount: capacity, alignment: 1)
    }

    private mutating func reserve(_ count: Int) {
        if writerIndex + count > capacity { grow(count) }
    }

    @inline(never)
    private mutating func grow(_ count: Int) {
        let grown = Swift.max(capacity * 2, writerIndex + count)
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 1)
        bigger.copyMemory(from: start, byteCount: writerIndex)
        start.deallocate()
        start = bigger
        capacity = grown
    }

    mutating func writeInteger(_ byte: UInt8) {
        reserve(1)
        start.storeBytes(of: byte, toByteOffset: writerIndex, as: UInt8.self)
        writerIndex += 1
    }

    mutating func writeBytes(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        reserve(bytes.count)
        (start + writerIndex).copyMemory(from: base, byteCount: bytes.count)
        writerIndex += bytes.count
    }

    mutating func writeStaticString(_ string: StaticString) {
        writeBytes(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    mutating func writeString(_ string: String) {
        var string = string
        string.withUTF8 { writeBytes(UnsafeRawBufferPointer($0)) }
    }
}
