public import UDSKit

/// A varlink address: `unix:/path` for a socket file, `unix:@name` for an abstract name (Linux).
///
/// Parameters after a `;` (such as `;mode=0666`, which servers use to set permissions) are accepted and ignored.
public struct VarlinkAddress: Hashable, Sendable, CustomStringConvertible {
    /// The socket the address names.
    public var socket: UnixSocketAddress

    /// Parses `string`.
    ///
    /// - Throws: ``VarlinkAddressError`` for another transport (`tcp:`, `exec:`, `ssh:`…) or a malformed address;
    ///   ``UnixSocketError`` for a path or name UDSKit cannot use.
    public init(_ string: String) throws {
        guard string.hasPrefix("unix:") else {
            throw VarlinkAddressError(address: string, reason: "only unix: addresses are supported")
        }
        var rest = Substring(string.dropFirst("unix:".count))
        if let semicolon = rest.firstIndex(of: ";") { rest = rest[..<semicolon] }
        guard !rest.isEmpty else { throw VarlinkAddressError(address: string, reason: "the path is empty") }
        socket = try UnixSocketAddress(String(rest))
    }

    public init(socket: UnixSocketAddress) { self.socket = socket }

    /// `unix:/path` or `unix:@name`.
    public var description: String { "unix:\(socket)" }
}

/// A string that is not a varlink address UDSKit can connect to.
public struct VarlinkAddressError: Error, Hashable, Sendable, CustomStringConvertible {
    public var address: String
    public var reason: String
    public var description: String { "\(address): \(reason)" }
}
