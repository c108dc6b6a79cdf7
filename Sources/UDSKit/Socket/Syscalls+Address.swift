import CUDSKit
import SystemPackage

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// The C layouts of socket addresses and types, so that the types above the syscall layer need no C library.

extension Syscall {
    /// The bytes of `sun_path`, its terminating NUL included (108 on Linux, 104 on Darwin).
    static let socketPathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    #if canImport(Glibc) || canImport(Musl)
        static let streamSocket = CInt(SOCK_STREAM.rawValue)
        static let seqPacketSocket = CInt(SOCK_SEQPACKET.rawValue)
        static let datagramSocket = CInt(SOCK_DGRAM.rawValue)
    #else
        static let streamSocket = SOCK_STREAM
        static let seqPacketSocket = SOCK_SEQPACKET
        static let datagramSocket = SOCK_DGRAM
    #endif
}

extension UnixSocketAddress {
    /// Calls `body` with this address as a `sockaddr_un` and its length. A path too long for `sun_path` is passed
    /// as `/proc/self/fd/N/name`, N a descriptor of its directory open for the call; if the directory cannot be
    /// opened, `body` gets the path cut short and fails as the kernel says (`ENOENT`, `EACCES`).
    func withSockAddr<Result>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        guard case .path(let path) = storage, let (directory, name) = Self.longPathParts(path) else {
            return try withShortSockAddr(body)
        }
        let fd = try retryingInterrupts { cudskit_open_directory_path(directory) }
        defer { Syscall.close(fd) }
        return try UnixSocketAddress(unchecked: "/proc/self/fd/\(fd)/\(name)").withShortSockAddr(body)
    }

    private init(unchecked path: String) { storage = .path(path) }

    private func withShortSockAddr<Result, Failure: Error>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes: String.UTF8View
        let prefix: Int
        switch storage {
        case .path(let path): bytes = path.utf8; prefix = 0
        case .abstract(let name): bytes = name.utf8; prefix = 1  // the leading NUL marks an abstract name
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            UnsafeMutableRawBufferPointer(rebasing: raw[prefix...]).copyBytes(from: bytes)
        }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        // A path is passed with its NUL; an abstract name is exactly as long as it is.
        let length = offset + prefix + bytes.count + (prefix == 0 ? 1 : 0)
        return try withUnsafePointer(to: &address) { pointer throws(Failure) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(Failure) in
                try body(sa, socklen_t(length))
            }
        }
    }
}
