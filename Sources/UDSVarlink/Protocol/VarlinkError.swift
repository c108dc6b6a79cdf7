/// A varlink error reply as a Swift value: its fully qualified name and its parameters.
///
/// Handlers throw it to answer with an error; ``VarlinkClient`` throws it when the server answers with one.
///
/// ```swift
/// throw VarlinkError(name: "org.example.ping.NotReady", parameters: ["retry_after": 5])
/// catch let error as VarlinkError where error.name == VarlinkError.methodNotFoundName { … }
/// ```
public struct VarlinkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The error's fully qualified name, `interface.ErrorName`.
    public var name: String
    /// The error's parameters, an object (empty for an error without parameters).
    public var parameters: JSONValue

    public init(name: String, parameters: JSONValue = .object([:])) {
        self.name = name
        self.parameters = parameters
    }

    /// An error whose parameters are `parameters` encoded as JSON.
    ///
    /// - Throws: `EncodingError` if `parameters` does not encode to an object.
    public init(name: String, encoding parameters: some Encodable) throws {
        self.init(name: name, parameters: try VarlinkJSON.value(of: parameters))
    }

    /// The parameters decoded as `type`.
    public func parameters<T: Decodable>(as type: T.Type) throws -> T {
        try JSONValueDecoder.decode(type, from: parameters)
    }

    public var description: String {
        if case .object(let members) = parameters, members.isEmpty { return name }
        return "\(name) \(VarlinkJSON.text(of: parameters))"
    }

    // MARK: org.varlink.service's errors

    public static let interfaceNotFoundName = "org.varlink.service.InterfaceNotFound"
    public static let methodNotFoundName = "org.varlink.service.MethodNotFound"
    public static let methodNotImplementedName = "org.varlink.service.MethodNotImplemented"
    public static let invalidParameterName = "org.varlink.service.InvalidParameter"
    /// Not in org.varlink.service's IDL, but sent by systemd and others: the method is meant to be called with
    /// `more`.
    public static let expectedMoreName = "org.varlink.service.ExpectedMore"

    /// The service has no interface `interface`.
    public static func interfaceNotFound(_ interface: String) -> VarlinkError {
        VarlinkError(name: interfaceNotFoundName, parameters: ["interface": .string(interface)])
    }
    /// The interface has no method `method` (fully qualified).
    public static func methodNotFound(_ method: String) -> VarlinkError {
        VarlinkError(name: methodNotFoundName, parameters: ["method": .string(method)])
    }
    /// The interface defines `method`, but the service has no handler for it.
    public static func methodNotImplemented(_ method: String) -> VarlinkError {
        VarlinkError(name: methodNotImplementedName, parameters: ["method": .string(method)])
    }
    /// The parameter `parameter` is missing, unknown, or of the wrong type.
    public static func invalidParameter(_ parameter: String) -> VarlinkError {
        VarlinkError(name: invalidParameterName, parameters: ["parameter": .string(parameter)])
    }
    /// The method streams its replies and must be called with `more`.
    public static func expectedMore() -> VarlinkError { VarlinkError(name: expectedMoreName) }
}

/// A Swift error type that answers a varlink call as a named varlink error.
///
/// ```swift
/// enum PingError: VarlinkErrorConvertible {
///     case notReady
///     var varlinkError: VarlinkError { VarlinkError(name: "org.example.ping.NotReady") }
/// }
/// ```
public protocol VarlinkErrorConvertible: Error {
    /// The error reply to send.
    var varlinkError: VarlinkError { get }
}
