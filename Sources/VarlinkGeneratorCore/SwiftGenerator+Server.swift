import VarlinkIDL

extension SwiftGenerator {
    /// Writes `<Namespace>Server`, a requirement per method, and the `VarlinkService.addInterface` that serves it.
    func writeServer(_ out: inout CodeWriter) {
        let names = methodNames(reserving: ["init"])
        out.line(
            "/// What a service implements to serve `\(interface.name)`: a method per varlink method. Serve it with")
        out.line("/// `service.addInterface(\(namespace).self, implementation: …)`.")
        out.line("///")
        out.line(
            "/// Each method gets the call's parameters, the call (its flags and the peer's credentials) and its reply stream:"
        )
        out.line("/// with `more`, `replies.send(_:)` sends replies before the last, which the method returns.")
        out.line("///")
        out.line(
            "/// The requirements are `nonisolated(nonsending)`: an implementation marked so too (or built with the upcoming"
        )
        out.line(
            "/// feature `NonisolatedNonsendingByDefault`) runs on the executor of the connection's task, with no task switch"
        )
        out.line("/// per call.")
        if let errorEnum {
            out.line("/// Throw `\(namespace).\(errorEnum)` to answer with one of the interface's errors.")
        }
        out.block("\(modifier)protocol \(namespace)Server: Swift.Sendable") { out in
            for (index, (method, name)) in names.enumerated() {
                if index > 0 { out.line() }
                out.documentation(method.documentation)
                if !method.documentation.isEmpty { out.line("///") }
                out.line("/// Answers `\(interface.name).\(method.name)`.")
                out.line(
                    "nonisolated(nonsending) func \(name)(_ parameters: \(parametersType(method)), call: UDSVarlink.VarlinkCall, replies: UDSVarlink.VarlinkReplyStream<\(replyType(method))>) async throws -> \(replyType(method))"
                )
            }
        }
        out.line()
        out.block("extension UDSVarlink.VarlinkService") { out in
            out.line("/// Adds `\(interface.name)`, its methods answered by `implementation`.")
            out.line("///")
            out.line("/// - Throws: `VarlinkServiceError` when the service already has the interface.")
            out.block(
                "\(modifier)mutating func addInterface(_ interface: \(namespace).Type, implementation: some \(namespace)Server) throws"
            ) { out in
                out.block("try addInterface(\(namespace).interfaceDescription)", parameters: "methods") { out in
                    for (method, name) in names {
                        let parameters = parametersType(method)
                        let reply = replyType(method)
                        out.block(
                            "methods.streamingMethod(\(SwiftNames.stringLiteral(method.name)))",
                            parameters:
                                "(parameters: \(parameters), call, replies: UDSVarlink.VarlinkReplyStream<\(reply)>)"
                        ) { out in
                            out.line("try await implementation.\(name)(parameters, call: call, replies: replies)")
                        }
                    }
                }
            }
        }
    }
}
