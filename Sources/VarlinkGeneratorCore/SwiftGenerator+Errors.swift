import VarlinkIDL

extension SwiftGenerator {
    /// Writes the interface's errors as an enum with a case per error, its parameters the case's associated values:
    /// a server's method throws one to answer with that error, and the generated client throws one when the server
    /// answers with it.
    func writeErrorEnum(_ out: inout CodeWriter) {
        guard let errorEnum else { return }
        let enumName = namespace + "." + errorEnum
        var caseNames = NameScope(reserved: ["varlinkError", "translating", "makeError", "init"])
        var structNames = NameScope()
        let cases = errors.map { error in
            (
                error: error, name: caseNames.claim(SwiftNames.memberName(error.name)),
                parameters: error.parameters.isEmpty
                    ? nil : structNames.claim(SwiftNames.bare(SwiftNames.typeName(error.name)) + "Parameters")
            )
        }
        out.line(
            "/// The errors `\(interface.name)` declares. A server's method throws one to answer with it; the client")
        out.line("/// throws one when the server answers with it (and a `VarlinkError` for any other error).")
        let conformances = "Swift.Error, UDSVarlink.VarlinkErrorConvertible, Swift.Hashable, Swift.Sendable"
        out.block("\(modifier)enum \(errorEnum): \(conformances)") { out in
            for item in cases {
                out.documentation(item.error.documentation)
                if !item.error.documentation.isEmpty { out.line("///") }
                out.line("/// `\(interface.name).\(item.error.name)`.")
                if item.parameters == nil {
                    out.line("case \(item.name)")
                } else {
                    let (properties, _) = self.properties(item.error.parameters, in: enumName + "." + item.parameters!)
                    out.line(
                        "case \(item.name)(\(properties.map { "\($0.name): \($0.type)" }.joined(separator: ", ")))")
                }
            }
            out.line()
            out.line("/// The error `error` is, when it is one of these and its parameters decode; `nil` otherwise.")
            out.block("\(modifier)init?(_ error: UDSVarlink.VarlinkError)") { out in
                out.block("switch error.name", indented: false) { out in
                    for item in cases {
                        out.line("case \(qualified(item.error.name)):")
                        guard let parameters = item.parameters else {
                            out.line("    self = .\(item.name)")
                            continue
                        }
                        let (properties, _) = self.properties(item.error.parameters, in: enumName + "." + parameters)
                        out.line(
                            "    guard let parameters = try? error.parameters(as: \(enumName).\(parameters).self) else { return nil }"
                        )
                        let values = properties.map { "\($0.name): parameters.\($0.name)" }
                        out.line("    self = .\(item.name)(\(values.joined(separator: ", ")))")
                    }
                    out.line("default:")
                    out.line("    return nil")
                }
            }
            out.line()
            out.line("/// The error reply this error is sent as.")
            out.block("\(modifier)var varlinkError: UDSVarlink.VarlinkError") { out in
                out.block("switch self", indented: false) { out in
                    for item in cases {
                        guard let parameters = item.parameters else {
                            out.line("case .\(item.name):")
                            out.line("    return UDSVarlink.VarlinkError(name: \(qualified(item.error.name)))")
                            continue
                        }
                        let (properties, _) = self.properties(item.error.parameters, in: enumName + "." + parameters)
                        let bindings = properties.indices.map { "let value\($0)" }.joined(separator: ", ")
                        let values = properties.enumerated().map { "\($1.name): value\($0)" }.joined(separator: ", ")
                        out.line("case .\(item.name)(\(bindings)):")
                        out.line(
                            "    return Self.makeError(\(qualified(item.error.name)), \(enumName).\(parameters)(\(values)))"
                        )
                    }
                }
            }
            out.line()
            out.line("/// `error` as one of these when it is one, else `error` itself.")
            out.block("\(modifier)static func translating(_ error: UDSVarlink.VarlinkError) -> any Swift.Error") {
                out in
                out.line("if let known = Self(error) { return known }")
                out.line("return error")
            }
            out.line()
            out.line("/// Parameters that do not encode (a float that is not finite) leave the error without them.")
            out.block(
                "private static func makeError(_ name: Swift.String, _ parameters: some Swift.Encodable) -> UDSVarlink.VarlinkError"
            ) { out in
                out.line(
                    "(try? UDSVarlink.VarlinkError(name: name, encoding: parameters)) ?? UDSVarlink.VarlinkError(name: name)"
                )
            }
            for item in cases {
                guard let parameters = item.parameters else { continue }
                out.line()
                let doc = "The parameters of `\(item.error.name)`."
                writeStruct(item.error.parameters, named: parameters, in: enumName, documentation: doc, &out)
            }
        }
    }
}
