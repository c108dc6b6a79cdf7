import SystemPackage

/// The address of a Unix domain socket: a file system path or, on Linux, an abstract name.
///
/// Written as a string, `@name` is the abstract name `name` (Linux only: it lives in the kernel, not in a
/// directory, and has no file permissions); anything else is a path.
///
/// ```swift
/// let address = try UnixSocketAddress("/run/myapp/control.sock")
/// ```
public struct UnixSocketAddress: Hashable, Sendable, CustomStringConvertible {
    enum Storage: Hashable, Sendable {
        case path(String)
        case abstract(String)
    }
    let storage: Storage

    /// The most bytes a path may have: `sun_path` less its terminating NUL (107 on Linux, 103 on Darwin).
    public static let maximumPathLength: Int = Syscall.socketPathCapacity - 1

    /// Parses `string`: `@name` is an abstract name (Linux), anything else a path.
    ///
    /// - Throws: ``UnixSocketError`` with code ``UnixSocketError/Code/invalidAddress`` for an empty string or one
    ///   holding a NUL byte, ``UnixSocketError/Code/pathTooLong`` past ``maximumPathLength`` (the error names both
    ///   the limit and the length), ``UnixSocketError/Code/unsupported`` for `@name` outside Linux.
    public init(_ string: String) throws {
        if string.hasPrefix("@") {
            try self.init(abstractName: String(string.dropFirst()))
        } else {
            try self.init(path: string)
        }
    }

    /// A path in the file system.
    ///
    /// On Linux a path longer than `sun_path` holds still works when its last component is short enough
    /// (``maximumLongPathNameLength``): binding and connecting go through the directory, opened for the call, as
    /// `/proc/self/fd/N/name`. Nothing process-wide (such as the working directory) changes.
    public init(path: String) throws {
        let length = path.utf8.count
        guard length > 0, !path.utf8.contains(0) else {
            throw UnixSocketError(
                .invalidAddress, operation: .parse, socket: path,
                detail: path.isEmpty ? "the path is empty" : "the path holds a NUL byte")
        }
        guard length <= Self.maximumPathLength || Self.longPathParts(path) != nil else {
            #if os(Linux)
                let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
                throw UnixSocketError(
                    .pathTooLong, operation: .parse, socket: path,
                    detail:
                        "\(length) bytes, more than the \(Self.maximumPathLength) a socket path holds; longer paths work "
                        + "only when the file name is at most \(Self.maximumLongPathNameLength) bytes (this one has "
                        + "\(name.utf8.count)) and the directory exists")
            #else
                throw UnixSocketError(
                    .pathTooLong, operation: .parse, socket: path,
                    detail:
                        "\(length) bytes, but a socket path holds at most \(Self.maximumPathLength) bytes on this system"
                )
            #endif
        }
        storage = .path(path)
    }

    /// The longest last path component of a path past ``maximumPathLength`` (Linux): what fits after
    /// `/proc/self/fd/<descriptor>/`.
    public static let maximumLongPathNameLength = maximumPathLength - "/proc/self/fd/2147483647/".utf8.count

    /// The directory and file name of a path too long for `sun_path` that can be reached through its directory, or
    /// `nil`.
    static func longPathParts(_ path: String) -> (directory: String, name: String)? {
        #if os(Linux)
            guard path.utf8.count > maximumPathLength, let slash = path.lastIndex(of: "/") else { return nil }
            let name = String(path[path.index(after: slash)...])
            guard !name.isEmpty, name.utf8.count <= maximumLongPathNameLength else { return nil }
            return (slash == path.startIndex ? "/" : String(path[..<slash]), name)
        #else
            return nil
        #endif
    }

    /// An abstract name (Linux only), written `@name`. It has no file and no permissions: anyone on the machine
    /// (in the same network namespace) can connect to it.
    public init(abstractName name: String) throws {
        #if os(Linux)
            let length = name.utf8.count
            guard length > 0 else {
                throw UnixSocketError(
                    .invalidAddress, operation: .parse, socket: "@", detail: "the abstract name is empty")
            }
            guard length <= Self.maximumPathLength else {
                throw UnixSocketError(
                    .pathTooLong, operation: .parse, socket: "@" + name,
                    detail: "\(length) bytes, but an abstract name holds at most \(Self.maximumPathLength) bytes")
            }
            storage = .abstract(name)
        #else
            throw UnixSocketError(
                .unsupported, operation: .parse, socket: "@" + name,
                detail: "abstract socket names exist on Linux only")
        #endif
    }

    /// The path, or `nil` for an abstract name.
    public var path: String? {
        if case .path(let path) = storage { return path }
        return nil
    }

    /// Whether this is an abstract name (`@name`).
    public var isAbstract: Bool {
        if case .abstract = storage { return true }
        return false
    }

    /// The path, or `@name` for an abstract name.
    public var description: String {
        switch storage {
        case .path(let path): return path
        case .abstract(let name): return "@" + name
        }
    }
}
