import VarlinkIDL

extension SwiftGenerator {
    /// The client wrapper's and the server protocol's Swift name of each method, in the order they are defined.
    func methodNames(reserving reserved: Set<String>) -> [(method: VarlinkMethod, name: String)] {
        var scope = NameScope(reserved: reserved)
        return methods.map { ($0, scope.claim(SwiftNames.methodName($0.name))) }
    }

    func parametersType(_ method: VarlinkMethod) -> String { namespace + "." + methodStructs[method.name]!.parameters }
    func replyType(_ method: VarlinkMethod) -> String { namespace + "." + methodStructs[method.name]!.reply }

    /// Whether a method's parameters may be left out: it has none, or only optional ones.
    func parametersAreOptional(_ method: VarlinkMethod) -> Bool {
        method.input.allSatisfy { if case .optional = $0.type { true } else { false } }
    }

    /// Writes `<Namespace>Client`: a method per varlink method, each with a `more:` and a `oneway:` variant.
    func writeClient(_ out: inout CodeWriter) {
        let errorType = errorEnum.map { namespace + "." + $0 }
        out.line(
            "/// Calls `\(interface.name)`'s methods on a `VarlinkClient` connection, with the types of its definition."
        )
        out.line("///")
        out.line("/// ```swift")
        out.line(
            "/// let client = \(namespace)Client(try await VarlinkClient.connect(to: VarlinkAddress(\"unix:/run/example.sock\")))"
        )
        out.line("/// ```")
        if let errorType {
            out.line("///")
            out.line(
                "/// An error reply the interface declares is thrown as `\(errorType)`, any other as `VarlinkError`.")
        }
        out.block("\(modifier)struct \(namespace)Client: Swift.Sendable") { out in
            out.line("/// The connection the calls go on.")
            out.line("\(modifier)let client: UDSVarlink.VarlinkClient")
            out.line()
            out.line("\(modifier)init(_ client: UDSVarlink.VarlinkClient) { self.client = client }")
            for (method, name) in methodNames(reserving: ["client", "init"]) {
                let parameters = parametersType(method)
                let reply = replyType(method)
                let methodName = qualified(method.name)
                out.line()
                out.documentation(method.documentation)
                if !method.documentation.isEmpty { out.line("///") }
                out.line("/// Calls `\(interface.name).\(method.name)` and returns its reply.")
                let defaultValue = parametersAreOptional(method) ? " = .init()" : ""
                out.block(
                    "\(modifier)func \(name)(_ parameters: \(parameters)\(defaultValue)) async throws -> \(reply)"
                ) { out in
                    guard let errorType else {
                        out.line("try await client.call(\(methodName), parameters, as: \(reply).self)")
                        return
                    }
                    out.line("do {")
                    out.line("    return try await client.call(\(methodName), parameters, as: \(reply).self)")
                    out.line("} catch let error as UDSVarlink.VarlinkError {")
                    out.line("    throw \(errorType).translating(error)")
                    out.line("}")
                }
                out.line()
                out.line(
                    "/// Calls `\(interface.name).\(method.name)` with `more`: its replies as they come, the call made when"
                )
                out.line("/// iteration starts.")
                out.block(
                    "\(modifier)func \(name)(more parameters: \(parameters)) -> UDSVarlink.VarlinkReplySequence<\(reply)>"
                ) { out in
                    let call = "client.callMore(\(methodName), parameters, as: \(reply).self)"
                    out.line(errorType.map { "\(call).mapError { \($0).translating($0) }" } ?? call)
                }
                out.line()
                out.line("/// Calls `\(interface.name).\(method.name)` with `oneway`: the server sends no reply.")
                out.block("\(modifier)func \(name)(oneway parameters: \(parameters)) async throws") { out in
                    out.line("try await client.callOneway(\(methodName), parameters)")
                }
            }
        }
    }
}
