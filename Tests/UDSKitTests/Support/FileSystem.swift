import UDSKitTestSupport

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `lstat(2)` says about a path: enough to tell whether a file was replaced or changed.
struct FileInfo: Equatable, Sendable {
    enum Kind: Sendable { case socket, regularFile, directory, symbolicLink, other }
    var kind: Kind
    var device: UInt64
    var inode: UInt64
    /// The permission bits (`st_mode & 0o7777`).
    var mode: UInt32

    /// The file at `path`, not following a symbolic link; `nil` when nothing is there.
    init?(at path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFSOCK: kind = .socket
        case S_IFREG: kind = .regularFile
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        mode = UInt32(st.st_mode & 0o7777)
    }
}

/// Whether anything (even a dangling symbolic link) is at `path`.
func fileExists(_ path: String) -> Bool { FileInfo(at: path) != nil }

/// Calls `body` with `path` as a `sockaddr_un`.
func withSocketAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.initializeMemory(as: UInt8.self, repeating: 0)
        raw.copyBytes(from: path.utf8.prefix(raw.count - 1))
    }
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
}

private func makeSocket() throws -> CInt {
    #if canImport(Glibc)
        let fd = socket(AF_UNIX, CInt(SOCK_STREAM.rawValue), 0)
    #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
    return fd
}

/// Leaves a socket file at `path` that nobody listens on, as a server that crashed would: bind, then close.
func makeStaleSocketFile(at path: String) throws {
    let fd = try makeSocket()
    defer { close(fd) }
    let result = withSocketAddress(path) { bind(fd, $0, $1) }
    guard result == 0 else { throw TestFailure("bind(\(path)) failed: errno \(errno)") }
}

/// Connects once with a plain blocking `connect(2)` and closes; returns whether the connect succeeded.
func rawConnectSucceeds(to path: String) -> Bool {
    guard let fd = try? makeSocket() else { return false }
    defer { close(fd) }
    return withSocketAddress(path) { connect(fd, $0, $1) } == 0
}

/// Sets the process umask for `body` and restores it afterwards.
func withUmask<T>(_ mask: mode_t, _ body: () async throws -> T) async rethrows -> T {
    let previous = umask(mask)
    defer { umask(previous) }
    return try await body()
}

/// Writes `bytes` to a new regular file at `path`.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else { throw TestFailure("open(\(path)) failed: errno \(errno)") }
    defer { close(fd) }
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        guard written > 0 else { throw TestFailure("write(\(path)) failed: errno \(errno)") }
        offset += written
    }
}

/// The contents of the regular file at `path`.
func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw TestFailure("open(\(path)) failed: errno \(errno)") }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw TestFailure("read(\(path)) failed: errno \(errno)") }
        if count == 0 { return result }
        result += chunk[..<count]
    }
}
