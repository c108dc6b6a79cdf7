public import UDSKit

/// A varlink service: the interfaces it implements, each from its IDL text with handlers for its methods, and
/// `org.varlink.service` built in.
///
/// ```swift
/// var service = VarlinkService(vendor: "Example", product: "ping", version: "1", url: "https://example.org")
/// try service.addInterface("""
///     interface org.example.ping
///     method Ping(ping: string) -> (pong: string)
///     """) { methods in
///     methods.method("Ping") { (request: Ping, call) in Pong(pong: request.ping) }
/// }
/// let server = MessageServer(address: try UnixSocketAddress("/run/example.sock"), varlinkService: service)
/// try await server.run()
/// ```
///
/// Calls on a connection are answered one at a time, in order, so pipelined calls get their replies in order; each
/// connection runs in a task of its own.
public struct VarlinkService: Sendable {
    /// Reported by `org.varlink.service.GetInfo`.
    public var vendor: String
    public var product: String
    public var version: String
    public var url: String

    struct Registered: Sendable {
        let interface: VarlinkInterface
        let methods: VarlinkMethods
        /// The methods whose handlers take parameters generated from this very definition
        /// (``VarlinkGeneratedParameters``): reading them checks them, so a call is not checked against the IDL first.
        let checkedByReading: Set<String>
    }
    private(set) var interfaces: [String: Registered] = [:]
    /// Interface names, in the order they were added, after `org.varlink.service`.
    private(set) var interfaceNames: [String] = [VarlinkServiceInterface.name]

    public init(vendor: String, product: String, version: String, url: String) {
        self.vendor = vendor
        self.product = product
        self.version = version
        self.url = url
    }

    /// Adds the interface defined by `idl`, with the handlers `register` adds. A method without a handler is
    /// answered with `org.varlink.service.MethodNotImplemented`.
    ///
    /// - Throws: ``VarlinkIDLError`` when `idl` does not parse; ``VarlinkServiceError`` when the interface is already
    ///   added or a handler names a method the IDL does not define.
    public mutating func addInterface(_ idl: String, _ register: (inout VarlinkMethods) -> Void) throws {
        let interface = try VarlinkInterface(parsing: idl)
        var methods = VarlinkMethods()
        register(&methods)
        guard interfaces[interface.name] == nil, interface.name != VarlinkServiceInterface.name else {
            throw VarlinkServiceError(message: "the interface \(interface.name) is already added")
        }
        for name in methods.handlers.keys where interface.methods[name] == nil {
            throw VarlinkServiceError(message: "\(interface.name) defines no method \(name)")
        }
        let checkedByReading = methods.handlers.compactMap { name, handler in
            handler.generatedFrom.map { $0.description == interface.description && $0.method == name } == true
                ? name : nil
        }
        interfaces[interface.name] = Registered(
            interface: interface, methods: methods, checkedByReading: Set(checkedByReading))
        interfaceNames.append(interface.name)
    }

    /// The interface named `name`, `org.varlink.service` included.
    public func interface(named name: String) -> VarlinkInterface? {
        if name == VarlinkServiceInterface.name { return VarlinkServiceInterface.interface }
        return interfaces[name]?.interface
    }

    /// The framed handler that serves this service: give it to a ``MessageServer`` whose configuration has
    /// ``MessageServer/Configuration/framing`` `.delimited(0)`, or use ``MessageServer/init(address:configuration:logger:varlinkService:)``.
    public var framedHandler: FramedHandler {
        let service = self
        return .bursts { connection in try await VarlinkConnection(service: service, connection: connection).run() }
    }
}

/// A mistake in setting up a ``VarlinkService``.
public struct VarlinkServiceError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
