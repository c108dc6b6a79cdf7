/// `org.varlink.service`, which every varlink service implements: `GetInfo` and `GetInterfaceDescription`.
enum VarlinkServiceInterface {
    static let name = "org.varlink.service"

    static let description = """
        # The Varlink Service Interface is provided by every varlink service. It
        # describes the service and the interfaces it implements.
        interface org.varlink.service

        # Get a list of all the interfaces a service provides and information
        # about the implementation.
        method GetInfo() -> (
          vendor: string,
          product: string,
          version: string,
          url: string,
          interfaces: []string
        )

        # Get the description of an interface that is implemented by this service.
        method GetInterfaceDescription(interface: string) -> (description: string)

        # The requested interface was not found.
        error InterfaceNotFound (interface: string)

        # The requested method was not found
        error MethodNotFound (method: string)

        # The interface defines the requested method, but the service does not
        # implement it.
        error MethodNotImplemented (method: string)

        # One of the passed parameters is invalid.
        error InvalidParameter (parameter: string)

        """

    static let interface: VarlinkInterface = try! VarlinkInterface(parsing: description)

    struct Info: Codable, Sendable {
        var vendor: String
        var product: String
        var version: String
        var url: String
        var interfaces: [String]
    }
    struct DescriptionRequest: Codable, Sendable { var interface: String }
    struct Description: Codable, Sendable { var description: String }

    /// The built-in handlers, for `service`.
    static func methods(for service: VarlinkService) -> VarlinkMethods {
        var methods = VarlinkMethods()
        methods.method("GetInfo") { (_: VarlinkEmpty, _) in
            Info(
                vendor: service.vendor, product: service.product, version: service.version, url: service.url,
                interfaces: service.interfaceNames)
        }
        methods.method("GetInterfaceDescription") { (request: DescriptionRequest, _) in
            guard let interface = service.interface(named: request.interface) else {
                throw VarlinkError.interfaceNotFound(request.interface)
            }
            return Description(description: interface.description)
        }
        return methods
    }
}
