import UDSKitTestSupport

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// How a connection ended for a client reading it to the end.
enum Ending: Equatable, Sendable {
    /// `read` returned 0: the server closed in order.
    case endOfStream
    /// The server closed with bytes of ours unread (`ECONNRESET`); for a hostile client, as good as closed.
    case reset
    /// Nothing came within the timeout: the server kept the connection open.
    case timedOut
}

/// A hostile client's socket, made with plain system calls: it depends on none of UDSKit's client code, so that a
/// test of the server cannot pass or fail because of the client library, and it tells end of stream, reset and
/// timeout apart. Every wait has a timeout (`poll(2)`); writes never raise SIGPIPE.
final class RawConnection: @unchecked Sendable {
    private let fd: CInt
    private var isClosed = false

    /// Connects to the socket file at `path`; blocks while the server's backlog is full.
    init(_ path: String) throws {
        fd = socket(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            raw.copyBytes(from: path.utf8.prefix(raw.count - 1))
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            Glibc.close(fd)
            throw TestFailure("connect(\(path)) failed: errno \(error)")
        }
    }

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    /// Half-closes: the server reads end of stream. Fails quietly if the server is gone already.
    func closeWrite() { _ = shutdown(fd, CInt(SHUT_WR)) }

    /// Waits up to `timeout` seconds for `events`; returns the events that came (empty on timeout).
    private func wait(_ events: Int16, timeout: Double) -> Int16 {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let result = poll(&entry, 1, Int32(timeout * 1000))
            if result < 0 && errno == EINTR { continue }
            return result > 0 ? entry.revents : 0
        }
    }

    enum WriteOutcome: Equatable { case written, closedByPeer, timedOut }

    /// Writes `bytes`, waiting at most `timeout` seconds at a time for room. With `echo`, takes in what the server
    /// sends meanwhile, as a client of an echoing server must. Returns how many bytes went and why it stopped.
    @discardableResult
    func write(_ bytes: [UInt8], timeout: Double = 60, collecting echo: UnsafeMutablePointer<[UInt8]>? = nil)
        -> (count: Int, outcome: WriteOutcome)
    {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if sent > 0 {
                offset += sent
                continue
            }
            if sent < 0 && errno != EAGAIN && errno != EINTR { return (offset, .closedByPeer) }  // EPIPE, ECONNRESET
            let ready = wait(Int16(POLLOUT) | (echo == nil ? 0 : Int16(POLLIN)), timeout: timeout)
            if ready == 0 { return (offset, .timedOut) }
            if let echo, ready & Int16(POLLIN) != 0 {
                if case .bytes(let chunk) = read(timeout: 0) { echo.pointee += chunk }
            }
        }
        return (offset, .written)
    }

    enum ReadResult: Equatable { case bytes([UInt8]), endOfStream, reset, timedOut }

    /// Reads what is there, waiting at most `timeout` seconds for something.
    func read(timeout: Double, maximum: Int = 64 * 1024) -> ReadResult {
        var chunk = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 { return .bytes(Array(chunk[..<count])) }
            if count == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN: if wait(Int16(POLLIN), timeout: timeout) == 0 { return .timedOut }
            default: return .reset  // ECONNRESET
            }
        }
    }

    /// Reads until the server closes, or until nothing came for `timeout` seconds; returns what came and how it
    /// ended. Throws past `maximumSize` bytes.
    func readUntilClosed(timeout: Double = 60, maximumSize: Int = 1 << 22) throws -> (bytes: [UInt8], ending: Ending) {
        var bytes: [UInt8] = []
        while true {
            switch read(timeout: timeout) {
            case .bytes(let chunk):
                bytes += chunk
                guard bytes.count <= maximumSize else { throw TestFailure("more than \(maximumSize) bytes came back") }
            case .endOfStream: return (bytes, .endOfStream)
            case .reset: return (bytes, .reset)
            case .timedOut: return (bytes, .timedOut)
            }
        }
    }
}
