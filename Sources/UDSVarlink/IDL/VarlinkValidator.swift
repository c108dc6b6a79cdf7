extension VarlinkInterface {
    /// Checks a call's parameters against method `method`'s input.
    ///
    /// Every field must be present (optional ones may be missing or `null`) and of its type; unknown fields are
    /// refused. `nil` parameters count as `{}`.
    ///
    /// - Throws: ``VarlinkError/invalidParameter(_:)`` naming the first bad parameter, as a dotted path for a
    ///   member of a struct (`struct.bool`), with `[index]` for an array element.
    public func validate(parameters: JSONValue?, ofMethod method: VarlinkMethod) throws(VarlinkError) {
        try validate(parameters, against: method.input)
    }

    /// Checks a reply's parameters against method `method`'s output, the same way.
    public func validate(reply: JSONValue?, ofMethod method: VarlinkMethod) throws(VarlinkError) {
        try validate(reply, against: method.output)
    }

    func validate(_ value: JSONValue?, against fields: [VarlinkField]) throws(VarlinkError) {
        // The fields checked as a structure's, without making one (an indirect enum case: an allocation per call).
        let problem: String?
        switch value {
        case nil: problem = check([:], fields, path: "")
        case .object(let members): problem = check(members, fields, path: "")
        case .some: problem = ""
        }
        if let problem { throw VarlinkError.invalidParameter(problem) }
    }

    /// The path of the first value in `value` that is not a `type`, or `nil` if it all is.
    private func check(_ value: JSONValue, _ type: VarlinkType, path: String) -> String? {
        switch (type, value) {
        case (.optional(let wrapped), _):
            return value == .null ? nil : check(value, wrapped, path: path)
        case (.object, _):
            return nil
        case (_, .null):
            return path
        case (.bool, .bool), (.string, .string), (.float, .int), (.float, .double), (.int, .int):
            return nil
        case (.int, .double(let double)):
            return double.rounded() == double && abs(double) < 9e15 ? nil : path
        case (.enumeration(let cases), .string(let string)):
            return cases.contains(string) ? nil : path
        case (.array(let element), .array(let elements)):
            for (index, item) in elements.enumerated() {
                if let problem = check(item, element, path: "\(path)[\(index)]") { return problem }
            }
            return nil
        case (.dictionary(let element), .object(let members)):
            for (key, item) in members {
                if let problem = check(item, element, path: join(path, key)) { return problem }
            }
            return nil
        case (.stringSet, .object(let members)):
            // Members are `{}`; other values are tolerated, as the reference implementation does.
            _ = members
            return nil
        case (.structure(let fields), .object(let members)):
            return check(members, fields, path: path)
        case (.named(let name), _):
            guard let definition = types[name] else { return path }
            return check(value, definition, path: path)
        default:
            return path
        }
    }

    /// The path of the first member of `members` that is not its field's type, or is no field; `nil` if none.
    private func check(_ members: [String: JSONValue], _ fields: [VarlinkField], path: String) -> String? {
        for field in fields {
            if let problem = check(members[field.name] ?? .null, field.type, path: join(path, field.name)) {
                return problem
            }
        }
        for key in members.keys where !fields.contains(where: { $0.name == key }) { return join(path, key) }
        return nil
    }

    private func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
}
