extension VarlinkInterface {
    /// Checks a call's parameters against method `method`'s input.
    ///
    /// Every field must be present (optional ones may be missing or `null`) and of its type; unknown fields are
    /// refused. `nil` parameters count as `{}`.
    ///
    /// - Throws: ``VarlinkError/invalidParameter(_:)`` naming the first bad parameter, as a dotted path for a
    ///   member of a struct (`struct.bool`), with `[index]` for an array element.
    public func validate(parameters: JSONValue?, ofMethod method: VarlinkMethod) throws(VarlinkError) {
        try validate(encoding: parameters, against: method.input)
    }

    /// Checks a reply's parameters against method `method`'s output, the same way.
    public func validate(reply: JSONValue?, ofMethod method: VarlinkMethod) throws(VarlinkError) {
        try validate(encoding: reply, against: method.output)
    }

    private func validate(encoding value: JSONValue?, against fields: [VarlinkField]) throws(VarlinkError) {
        let check = VarlinkTypeCheck(types: types)
        guard let value else { return try check.validate(json: nil, against: fields) }
        guard let bytes = try? VarlinkJSON.encode(value) else { throw VarlinkError.invalidParameter("") }
        var problem: VarlinkError?
        bytes.withUnsafeBytes { raw in
            do throws(VarlinkError) { try check.validate(json: raw, against: fields) } catch { problem = error }
        }
        if let problem { throw problem }
    }
}

/// Checks JSON against an interface's types, as ``VarlinkInterface/validate(parameters:ofMethod:)`` describes.
/// Holds only the types, so that a server keeps one per method it resolved without copying the interface per call.
struct VarlinkTypeCheck: Sendable {
    /// The interface's named types.
    let types: [String: VarlinkType]

    /// Checks the JSON in `bytes` (`nil` for `{}`) against `fields` as
    /// ``VarlinkInterface/validate(parameters:ofMethod:)`` does,
    /// walking the bytes without making values of them: the server checks each call's parameters this way before
    /// reading them into their type.
    func validate(json bytes: UnsafeRawBufferPointer?, against fields: [VarlinkField]) throws(VarlinkError) {
        guard let bytes else {
            if let missing = fields.first(where: { !acceptsNull($0.type) }) {
                throw VarlinkError.invalidParameter(missing.name)
            }
            return
        }
        var parser = JSONParser(bytes)
        var problem: Problem?
        do {
            if parser.peek() == UInt8(ascii: "{") {
                problem = try checkMembers(&parser, fields, depth: 0)
                if problem == nil { try parser.expectEnd() }
            } else {
                problem = Problem()
            }
        } catch {
            // Not JSON: the connection checked that a call's parameters are, so only a caller's bytes get here.
            problem = Problem()
        }
        if let problem { throw VarlinkError.invalidParameter(problem.path) }
    }

    /// Where the first value that does not fit is: built from the inside out as the check unwinds, only on failure.
    private struct Problem {
        var path = ""

        func inMember(_ name: String) -> Problem {
            Problem(path: path.isEmpty ? name : path.hasPrefix("[") ? name + path : "\(name).\(path)")
        }

        func inElement(_ index: Int) -> Problem {
            Problem(path: "[\(index)]" + (path.isEmpty || path.hasPrefix("[") ? path : ".\(path)"))
        }
    }

    /// Checks the value at the parser against `type`, moving past it when it fits.
    private func check(_ parser: inout JSONParser, _ type: VarlinkType, depth: Int) throws(JSONParseError) -> Problem? {
        let next = parser.peek()
        switch type {
        case .optional(let wrapped):
            if next == UInt8(ascii: "n") { return try scalar(&parser, depth) == .null ? nil : Problem() }
            return try check(&parser, wrapped, depth: depth)
        case .object:
            try parser.skipValue(depth: depth)
            return nil
        case .bool:
            guard case .bool = try scalar(&parser, depth) else { return Problem() }
            return nil
        case .string:
            guard next == UInt8(ascii: "\"") else { return Problem() }
            let token = try parser.stringToken()
            if !token.isASCII { _ = try parser.string(token) }  // checks it is UTF-8
            return nil
        case .int:
            switch try scalar(&parser, depth) {
            case .int: return nil
            case .double(let double): return double.rounded() == double && abs(double) < 9e15 ? nil : Problem()
            default: return Problem()
            }
        case .float:
            switch try scalar(&parser, depth) {
            case .int, .double: return nil
            default: return Problem()
            }
        case .enumeration(let cases):
            guard next == UInt8(ascii: "\"") else { return Problem() }
            let token = try parser.stringToken()
            if !token.isASCII { _ = try parser.string(token) }  // checks it is UTF-8
            return cases.contains(where: { token.is($0) }) ? nil : Problem()
        case .array(let element):
            guard next == UInt8(ascii: "[") else { return Problem() }
            var more = try parser.enterArray(depth: depth + 1)
            var index = 0
            while more {
                if let problem = try check(&parser, element, depth: depth + 1) { return problem.inElement(index) }
                index += 1
                more = try parser.nextElement()
            }
            return nil
        case .dictionary(let element):
            guard next == UInt8(ascii: "{") else { return Problem() }
            var more = try parser.enterObject(depth: depth + 1)
            while more {
                let name = try parser.memberName()
                if let problem = try check(&parser, element, depth: depth + 1) {
                    return problem.inMember(try parser.string(name))
                }
                more = try parser.nextMember()
            }
            return nil
        case .stringSet:
            // Members are `{}`; other values are tolerated, as the reference implementation does.
            guard next == UInt8(ascii: "{") else { return Problem() }
            try parser.skipValue(depth: depth)
            return nil
        case .structure(let fields):
            guard next == UInt8(ascii: "{") else { return Problem() }
            return try checkMembers(&parser, fields, depth: depth)
        case .named(let name):
            guard let definition = types[name] else { return Problem() }
            return try check(&parser, definition, depth: depth)
        }
    }

    /// Checks the object at the parser against `fields`: each member one of them and of its type, each field
    /// present unless it may be `null`.
    private func checkMembers(
        _ parser: inout JSONParser, _ fields: [VarlinkField], depth: Int
    ) throws(JSONParseError) -> Problem? {
        // Which fields came, as bits: no allocation for up to 64 fields (an IDL struct has a few).
        var seen: UInt64 = 0
        var seenBeyond: Set<Int> = []
        var more = try parser.enterObject(depth: depth + 1)
        while more {
            let name = try parser.memberName()
            guard let index = fields.firstIndex(where: { name.is($0.name) }) else {
                return Problem().inMember(try parser.string(name))
            }
            if index < 64 { seen |= 1 << UInt64(index) } else { seenBeyond.insert(index) }
            if let problem = try check(&parser, fields[index].type, depth: depth + 1) {
                return problem.inMember(fields[index].name)
            }
            more = try parser.nextMember()
        }
        for (index, field) in fields.enumerated() where !acceptsNull(field.type) {
            let came = index < 64 ? seen & (1 << UInt64(index)) != 0 : seenBeyond.contains(index)
            if !came { return Problem().inMember(field.name) }
        }
        return nil
    }

    /// A scalar (or `null`) at the parser; a container is made whole, to be found not to fit.
    private func scalar(_ parser: inout JSONParser, _ depth: Int) throws(JSONParseError) -> JSONValue {
        try parser.value(depth: depth)
    }

    /// Whether a missing member of `type` fits: an optional, or an `object` (anything).
    private func acceptsNull(_ type: VarlinkType) -> Bool {
        switch type {
        case .optional, .object: return true
        case .named(let name): return types[name].map(acceptsNull) ?? false
        default: return false
        }
    }
}
