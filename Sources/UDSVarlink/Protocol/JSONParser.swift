#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Parses JSON bytes (RFC 8259) into a ``JSONValue`` in one pass.
///
/// The hot path of every call and reply: `JSONDecoder` into ``JSONValue`` would probe each value's type by
/// throwing, which costs more than the parse. Nesting is limited to ``maximumDepth`` so that hostile input cannot
/// exhaust the stack.
struct JSONParser {
    /// Deeper nesting is refused.
    static let maximumDepth = 256

    private let bytes: UnsafeRawBufferPointer
    /// The offset of the next byte to parse.
    private(set) var index = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses `bytes`, which must hold one JSON value and nothing but whitespace around it.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected bytes after the JSON value") }
        return value
    }

    private func error(_ message: String) -> JSONParseError { JSONParseError(offset: index, message: message) }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    /// The first byte of the next value, whitespace skipped; `nil` at the end.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return current
    }

    /// Fails unless only whitespace is left.
    mutating func expectEnd() throws(JSONParseError) {
        skipWhitespace()
        guard index == bytes.count else { throw error("unexpected bytes after the JSON value") }
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard let byte = current else { throw error("the JSON ends early") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character '\(Unicode.Scalar(byte))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("the JSON ends early") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw error("unexpected literal")
        }
        index += count
    }

    /// Parses `bytes`, which must hold one JSON object, handing each member's name to `body` in order, with the
    /// parser at the member's value, without building the object: a call's members are read once, so a dictionary
    /// of them would be made only to be taken apart, and a name checked against a few known ones needs no `String`.
    /// `body` must parse the value, with ``memberValue()``, ``memberValue(reusing:)`` or ``skipValue(depth:)``.
    ///
    /// - Returns: `false` if the value is not an object (nothing parsed).
    static func forEachMember(
        of bytes: UnsafeRawBufferPointer, _ body: (StringToken, inout JSONParser) throws(JSONParseError) -> Void
    ) throws(JSONParseError) -> Bool {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        guard parser.current == UInt8(ascii: "{") else { return false }
        try parser.members(depth: 1, body)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected bytes after the JSON value") }
        return true
    }

    /// A string as it is in the JSON, a member's name or a value: its bytes when it has no escapes (not yet checked
    /// to be UTF-8), or the string its escapes make.
    struct StringToken {
        fileprivate let bytes: UnsafeRawBufferPointer
        let isASCII: Bool
        fileprivate let unescaped: String?

        /// Whether the string is `name`, an ASCII name.
        func `is`(_ name: StaticString) -> Bool {
            if let unescaped {
                return unescaped.utf8.elementsEqual(
                    UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            }
            return bytes.count == name.utf8CodeUnitCount
                && (bytes.isEmpty || memcmp(bytes.baseAddress!, name.utf8Start, bytes.count) == 0)
        }

        /// Whether the string is `name`.
        func `is`(_ name: String) -> Bool {
            var name = name
            return name.withUTF8 { utf8 in
                if let unescaped { return unescaped.utf8.elementsEqual(utf8) }
                return bytes.count == utf8.count
                    && (bytes.isEmpty || memcmp(bytes.baseAddress!, utf8.baseAddress!, bytes.count) == 0)
            }
        }
    }

    /// The value of the member whose name ``forEachMember(of:_:)`` handed over.
    mutating func memberValue() throws(JSONParseError) -> JSONValue { try value(depth: 1) }

    /// The value of the member, a string equal to `known` (compared byte for byte, escapes aside) given as `known`
    /// itself, with no new `String`: a connection's calls mostly name the method its last call named.
    mutating func memberValue(reusing known: String?) throws(JSONParseError) -> JSONValue {
        guard var known, current == UInt8(ascii: "\"") else { return try value(depth: 1) }
        let name = try stringToken()
        if name.unescaped == nil,
            known.withUTF8({ utf8 in
                utf8.count == name.bytes.count
                    && (utf8.isEmpty || memcmp(utf8.baseAddress!, name.bytes.baseAddress!, utf8.count) == 0)
            })
        {
            return .string(known)
        }
        return .string(try string(name))
    }

    private mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        // Room for a few members up front: most objects are small, and growing from empty rehashes at each doubling.
        var members = [String: JSONValue](minimumCapacity: 4)
        try self.members(depth: depth) { (name, parser) throws(JSONParseError) in
            members[try parser.string(name)] = try parser.value(depth: depth)
        }
        return .object(members)
    }

    /// Parses the object at `index`, handing `body` each member's name with the parser at its value.
    private mutating func members(
        depth: Int, _ body: (StringToken, inout JSONParser) throws(JSONParseError) -> Void
    ) throws(JSONParseError) {
        var more = try enterObject(depth: depth)
        while more {
            try body(try memberName(), &self)
            more = try nextMember()
        }
    }

    /// Consumes the `{` at `index` of an object nested `depth` deep; whether a member follows (if not, the `}` is
    /// consumed too). Then, for each member: ``memberName()``, its value, ``nextMember()``.
    mutating func enterObject(depth: Int) throws(JSONParseError) -> Bool {
        guard depth <= Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth)") }
        index += 1
        skipWhitespace()
        guard current == UInt8(ascii: "}") else { return true }
        index += 1
        return false
    }

    /// A member's name and its `:`, leaving the parser at its value.
    mutating func memberName() throws(JSONParseError) -> StringToken {
        skipWhitespace()
        guard current == UInt8(ascii: "\"") else { throw error("expected a member name") }
        let name = try stringToken()
        skipWhitespace()
        guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
        index += 1
        skipWhitespace()
        return name
    }

    /// After a member's value: whether another member follows (its `,` consumed), or the object ended (its `}`
    /// consumed).
    mutating func nextMember() throws(JSONParseError) -> Bool {
        skipWhitespace()
        switch current {
        case UInt8(ascii: ","): index += 1; return true
        case UInt8(ascii: "}"): index += 1; return false
        default: throw error("expected ',' or '}'")
        }
    }

    /// Consumes the `[` at `index` of an array nested `depth` deep; whether an element follows (if not, the `]` is
    /// consumed too). Then, for each element: its value, ``nextElement()``.
    mutating func enterArray(depth: Int) throws(JSONParseError) -> Bool {
        guard depth <= Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth)") }
        index += 1
        skipWhitespace()
        guard current == UInt8(ascii: "]") else { return true }
        index += 1
        return false
    }

    /// After an element: whether another follows (its `,` consumed), or the array ended (its `]` consumed).
    mutating func nextElement() throws(JSONParseError) -> Bool {
        skipWhitespace()
        switch current {
        case UInt8(ascii: ","): index += 1; skipWhitespace(); return true
        case UInt8(ascii: "]"): index += 1; return false
        default: throw error("expected ',' or ']'")
        }
    }

    /// Checks the value at `index`, nested `depth` deep, as ``value(depth:)`` does, and moves past it without
    /// making it: a call's parameters are checked this way first and read into their type afterwards.
    mutating func skipValue(depth: Int) throws(JSONParseError) {
        skipWhitespace()
        switch current ?? 0 {
        case UInt8(ascii: "{"):
            var more = try enterObject(depth: depth + 1)
            while more {
                _ = try memberName()
                try skipValue(depth: depth + 1)
                more = try nextMember()
            }
        case UInt8(ascii: "["):
            var more = try enterArray(depth: depth + 1)
            while more {
                try skipValue(depth: depth + 1)
                more = try nextElement()
            }
        case UInt8(ascii: "\""):
            let token = try stringToken()
            if !token.isASCII { _ = try string(token) }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
        default:
            _ = try value(depth: depth)
        }
    }

    private mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        var elements: [JSONValue] = []
        var more = try enterArray(depth: depth)
        while more {
            elements.append(try value(depth: depth))
            more = try nextElement()
        }
        return .array(elements)
    }

    mutating func string() throws(JSONParseError) -> String { try string(try stringToken()) }

    /// The string a token is: its bytes checked to be UTF-8 (ASCII needs no check).
    func string(_ token: StringToken) throws(JSONParseError) -> String {
        if let unescaped = token.unescaped { return unescaped }
        // ASCII needs no validation (and `String(validating:)` costs a generic-metadata lookup per call).
        if token.isASCII { return String(decoding: token.bytes, as: UTF8.self) }
        guard let string = String(validating: token.bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw error("a string is not valid UTF-8")
        }
        return string
    }

    /// The string at `index`: a slice of the input when it has no escapes (the common case), else decoded.
    mutating func stringToken() throws(JSONParseError) -> StringToken {
        index += 1
        let start = index
        var isASCII = true
        // Eight bytes at a time while none is a quote, a backslash, a control character or non-ASCII (a string's
        // bytes are scanned by every pass over a call: this was 8% of a server's time per call).
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
            let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
            // A byte below 0x20, or zero after the XORs, borrows into its high bit; any high bit sends the word to
            // the byte loop below, which tells them apart.
            let flagged =
                ((word &- ones &* 0x20) | (quote &- ones) | (backslash &- ones) | word) & highs
            if flagged != 0 { break }
            index += 8
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return StringToken(bytes: slice, isASCII: isASCII, unescaped: nil)
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw error("a control character in a string") }
            if byte >= 0x80 { isASCII = false }
            index += 1
        }
        var scalars: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while true {
            guard let byte = current else { throw error("a string is not terminated") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: scalars, as: UTF8.self) else {
                    throw error("a string is not valid UTF-8")
                }
                return StringToken(
                    bytes: UnsafeRawBufferPointer(start: nil, count: 0), isASCII: false, unescaped: string)
            case UInt8(ascii: "\\"):
                try escape(into: &scalars)
            case 0..<0x20:
                throw error("a control character in a string")
            default:
                scalars.append(byte)
            }
        }
    }

    private mutating func escape(into output: inout [UInt8]) throws(JSONParseError) {
        guard let byte = current else { throw error("a string is not terminated") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var code = try hex4()
            if (0xD800..<0xDC00).contains(code) {
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                else { throw error("a lone surrogate in a string") }
                index += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("a lone surrogate in a string") }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(code) {
                throw error("a lone surrogate in a string")
            }
            guard let scalar = Unicode.Scalar(code) else { throw error("an invalid \\u escape") }
            output.append(contentsOf: String(Character(scalar)).utf8)
        default:
            throw error("an invalid escape '\\\(Unicode.Scalar(byte))'")
        }
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("the JSON ends early") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("an invalid \\u escape")
            }
            code = code << 4 | UInt32(digit)
            index += 1
        }
        return code
    }

    private mutating func number() throws(JSONParseError) -> JSONValue {
        let start = index
        let isInteger = try scanNumber()
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let int = Int64(text) { return .int(int) }
        guard let double = Double(text) else { throw error("a number out of range") }
        return .double(double)
    }

    /// Moves past the number at `index`; whether it has neither a fraction nor an exponent.
    private mutating func scanNumber() throws(JSONParseError) -> Bool {
        var isInteger = true
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            throw error("a number without digits")
        }
        if first == UInt8(ascii: "0") { index += 1 } else { skipDigits() }
        if current == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard skipDigits() > 0 else { throw error("a number without digits after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { throw error("a number without digits in its exponent") }
        }
        return isInteger
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = index
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        return index - start
    }
}

/// Bytes that are not JSON, with the offset where parsing stopped.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The byte offset of the problem.
    public var offset: Int
    public var message: String
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}
