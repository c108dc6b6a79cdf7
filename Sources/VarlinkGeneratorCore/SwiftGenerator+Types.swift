import VarlinkIDL

extension SwiftGenerator {
    /// A struct or enum that a field's type declares inline, `(x: int)` or `(a, b)`, declared inside the struct of
    /// the field and named after it.
    struct NestedType {
        let name: String
        let type: VarlinkType
    }

    /// A struct's field in Swift: its property name and type.
    struct Property {
        let varlinkName: String
        let name: String
        let type: String
        let isOptional: Bool
    }

    /// Writes `type` (a struct or an enum) as `name`, a member of `owner`.
    func writeType(
        _ type: VarlinkType, named name: String, in owner: String, documentation: String, _ out: inout CodeWriter
    ) {
        switch type {
        case .enumeration(let cases): writeEnum(cases, named: name, documentation: documentation, &out)
        case .structure(let fields): writeStruct(fields, named: name, in: owner, documentation: documentation, &out)
        default: preconditionFailure("the IDL parser makes named and inline types structs or enums only")
        }
    }

    /// The properties of a struct of `fields` whose Swift name is `qualified`, and the types they declare inline.
    func properties(_ fields: [VarlinkField], in qualified: String) -> ([Property], [NestedType]) {
        var names = NameScope()
        var typeNames = NameScope(reserved: ["CodingKeys"])
        var properties: [Property] = []
        var nested: [NestedType] = []
        for field in fields {
            let name = names.claim(SwiftNames.memberName(field.name))
            var inline: NestedType?
            let type = swiftType(field.type, in: qualified) { type in
                let nestedName = typeNames.claim(SwiftNames.typeName(name))
                inline = NestedType(name: nestedName, type: type)
                return nestedName
            }
            if let inline { nested.append(inline) }
            let isOptional = if case .optional = field.type { true } else { false }
            properties.append(Property(varlinkName: field.name, name: name, type: type, isOptional: isOptional))
        }
        return (properties, nested)
    }

    /// Writes a `Codable` struct of `fields`, with a memberwise initializer (optional fields default to `nil`) and
    /// `CodingKeys` that keep the varlink names; the parameters of method `parametersOf` say so
    /// (`VarlinkGeneratedParameters`), so that a server reads them without checking them against the IDL first.
    func writeStruct(
        _ fields: [VarlinkField], named name: String, in owner: String, documentation: String,
        parametersOf method: String? = nil, _ out: inout CodeWriter
    ) {
        let qualified = owner + "." + name
        let (properties, nested) = self.properties(fields, in: qualified)
        out.documentation(documentation)
        let conformance = method == nil ? "UDSVarlink.VarlinkJSONCodable" : "UDSVarlink.VarlinkGeneratedParameters"
        out.block("\(modifier)struct \(name): \(conformance), Swift.Hashable, Swift.Sendable") { out in
            for property in properties {
                out.line("\(modifier)var \(property.name): \(property.type)")
            }
            if properties.isEmpty {
                out.line("\(modifier)init() {}")
                out.line()
                out.line("/// Decodes from any object, as `()` does in varlink.")
                out.block("\(modifier)init(from decoder: any Swift.Decoder) throws") { out in
                    out.line("_ = try UDSVarlink.VarlinkEmpty(from: decoder)")
                }
                out.line()
                out.block("\(modifier)func encode(to encoder: any Swift.Encoder) throws") { out in
                    out.line("try UDSVarlink.VarlinkEmpty().encode(to: encoder)")
                }
                out.line()
                out.line("/// Reads `{}` only, as the IDL's `()` allows no member.")
                out.block(
                    "\(modifier)init(varlinkJSON json: inout UDSVarlink.VarlinkJSONReader) throws(UDSVarlink.VarlinkJSONError)"
                ) { out in
                    out.block("try json.readObject", parameters: "(name, _) throws(UDSVarlink.VarlinkJSONError)") {
                        out in
                        out.line("throw try name.unknown()")
                    }
                }
                out.line()
                out.block("\(modifier)func write(to json: inout UDSVarlink.VarlinkJSONWriter)") { out in
                    out.line("UDSVarlink.VarlinkEmpty().write(to: &json)")
                }
            } else {
                out.line()
                let parameters = properties.map { "\($0.name): \($0.type)\($0.isOptional ? " = nil" : "")" }
                out.block("\(modifier)init(\(parameters.joined(separator: ", ")))") { out in
                    for property in properties { out.line("self.\(property.name) = \(property.name)") }
                }
                out.line()
                out.block("\(modifier)enum CodingKeys: Swift.String, Swift.CodingKey") { out in
                    for property in properties {
                        out.line("case \(property.name) = \(SwiftNames.stringLiteral(property.varlinkName))")
                    }
                }
                writeJSONCoding(properties, &out)
            }
            if let method {
                out.line()
                out.line(
                    "\(modifier)static var varlinkInterfaceDescription: Swift.String { \(namespace).interfaceDescription }"
                )
                out.line(
                    "\(modifier)static var varlinkMethodName: Swift.String { \(SwiftNames.stringLiteral(method)) }")
            }
            for type in nested {
                out.line()
                writeType(type.type, named: type.name, in: qualified, documentation: "", &out)
            }
        }
    }

    /// Writes a struct's `VarlinkJSONCodable` conformance: its members read from the bytes in any order and checked
    /// as the IDL checks them (an unknown one refused, a missing optional `nil`, a missing `object` `null`), and
    /// written in order, optionals left out when `nil`, as its `Codable` conformance does.
    private func writeJSONCoding(_ properties: [Property], _ out: inout CodeWriter) {
        out.line()
        out.block(
            "\(modifier)init(varlinkJSON json: inout UDSVarlink.VarlinkJSONReader) throws(UDSVarlink.VarlinkJSONError)"
        ) { out in
            // Locals by position: a property's own name could be `json` or `name`.
            for (index, property) in properties.enumerated() {
                out.line("var member\(index): \(property.type)? = nil")
            }
            out.block("try json.readObject", parameters: "(name, json) throws(UDSVarlink.VarlinkJSONError)") { out in
                for (index, property) in properties.enumerated() {
                    let literal = SwiftNames.stringLiteral(property.varlinkName)
                    out.line("\(index == 0 ? "if" : "} else if") name.is(\(literal)) {")
                    out.line("    member\(index) = try json.read(member: \(literal))")
                }
                out.line("} else {")
                out.line("    throw try name.unknown()")
                out.line("}")
            }
            for (index, property) in properties.enumerated() {
                let value =
                    if property.isOptional {
                        "member\(index) ?? nil"
                    } else if property.type == "UDSVarlink.JSONValue" {
                        "member\(index) ?? .null"
                    } else {
                        "try UDSVarlink.VarlinkJSONReader.required(member\(index), member: \(SwiftNames.stringLiteral(property.varlinkName)))"
                    }
                out.line("self.\(property.name) = \(value)")
            }
        }
        out.line()
        out.block("\(modifier)func write(to json: inout UDSVarlink.VarlinkJSONWriter)") { out in
            out.line("var object = json.beginObject()")
            for property in properties {
                let write = property.isOptional ? "writeIfPresent" : "write"
                out.line(
                    "json.\(write)(self.\(property.name), forKey: \(SwiftNames.stringLiteral(property.varlinkName)), in: &object)"
                )
            }
            out.line("json.end(object)")
        }
    }

    /// Writes a `String`-backed enum of `cases`, each case's raw value its varlink name.
    func writeEnum(_ cases: [String], named name: String, documentation: String, _ out: inout CodeWriter) {
        var names = NameScope(reserved: ["rawValue", "hashValue", "init"])
        out.documentation(documentation)
        out.block(
            "\(modifier)enum \(name): Swift.String, UDSVarlink.VarlinkJSONCodable, Swift.Hashable, Swift.Sendable"
        ) { out in
            for varlinkCase in cases {
                out.line(
                    "case \(names.claim(SwiftNames.memberName(varlinkCase))) = \(SwiftNames.stringLiteral(varlinkCase))"
                )
            }
            out.line()
            out.block(
                "\(modifier)init(varlinkJSON json: inout UDSVarlink.VarlinkJSONReader) throws(UDSVarlink.VarlinkJSONError)"
            ) { out in
                out.line("let found = try json.readValue()")
                out.block("guard case .string(let name) = found, let value = Self(rawValue: name) else") { out in
                    let expected = SwiftNames.stringLiteral("one of " + cases.joined(separator: ", "))
                    out.line("throw UDSVarlink.VarlinkJSONError(expected: \(expected), found: found)")
                }
                out.line("self = value")
            }
            out.line()
            out.block("\(modifier)func write(to json: inout UDSVarlink.VarlinkJSONWriter)") { out in
                out.line("rawValue.write(to: &json)")
            }
        }
    }

    /// The Swift type of `type`, a field of the struct `owner`; `declareInline` names a struct or enum written
    /// inline, which becomes a member of `owner`.
    func swiftType(_ type: VarlinkType, in owner: String, declareInline: (VarlinkType) -> String) -> String {
        switch type {
        case .bool: return "Swift.Bool"
        case .int: return "Swift.Int"
        case .float: return "Swift.Double"
        case .string: return "Swift.String"
        case .object: return "UDSVarlink.JSONValue"
        case .stringSet: return "UDSVarlink.VarlinkStringSet"
        case .array(let element): return "[\(swiftType(element, in: owner, declareInline: declareInline))]"
        case .dictionary(let element):
            return "[Swift.String: \(swiftType(element, in: owner, declareInline: declareInline))]"
        case .optional(let wrapped): return swiftType(wrapped, in: owner, declareInline: declareInline) + "?"
        case .enumeration, .structure: return owner + "." + declareInline(type)
        case .named(let name): return namespace + "." + (typeNames[name] ?? SwiftNames.typeName(name))
        }
    }
}
