import Foundation
import UDSKitTestSupport

@testable import UDSKit

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Starts a reactor of its own on a thread of its own (as a server's loops and the client reactor are started), runs
/// `body` with it, and stops it.
func withReactor<T>(_ body: (Reactor) async throws -> T) async throws -> T {
    let group = try ReactorGroup(count: 1, readBufferSize: 64 * 1024)
    defer { group.stop() }
    return try await body(group.reactors[0])
}

/// Runs `body` on `reactor`'s thread and returns what it returns: how a test touches what only the loop may touch.
func onLoop<T: Sendable>(_ reactor: Reactor, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        reactor.execute { continuation.resume(with: Result { try body() }) }
    }
}

/// Two connected stream sockets (`socketpair(2)`), both non-blocking and close-on-exec.
struct SocketPair {
    let first: CInt
    let second: CInt

    init() throws {
        var fds: [CInt] = [-1, -1]
        let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw TestFailure("socketpair failed: errno \(errno)") }
        first = fds[0]
        second = fds[1]
    }

    func close() {
        _ = Glibc.close(first)
        _ = Glibc.close(second)
    }
}

/// Writes all of `text` to `fd` (small writes to a socket with room: one `send`); no SIGPIPE.
func writeAll(_ fd: CInt, _ text: String) throws {
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL)) }
    guard written == bytes.count else {
        throw TestFailure("send(\(fd)) wrote \(written) of \(bytes.count): errno \(errno)")
    }
}

/// What a non-blocking `fd` has to read now; `nil` at the end of the stream.
func readAvailable(_ fd: CInt) -> [UInt8]? {
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            result += chunk[..<count]
            continue
        }
        if count == 0 && result.isEmpty { return nil }
        return result
    }
}

/// A reactor source that reads what arrives on its descriptor and records each event, for the test to look at from
/// any thread.
final class RecordingSource: ReactorSource, @unchecked Sendable {
    let name: String
    let descriptor: CInt
    private let reactor: Reactor
    private let log: Shared<[String]>
    private let state = Shared<(events: Int, bytes: [UInt8], threadsOK: Bool)>((0, [], true))
    /// Called on the loop after each event is recorded.
    var afterEvent: (() -> Void)?

    /// A source for `descriptor` that appends "name: bytes" to `log` for each event it handles.
    init(_ name: String, descriptor: CInt, reactor: Reactor, log: Shared<[String]>) {
        self.name = name
        self.descriptor = descriptor
        self.reactor = reactor
        self.log = log
    }

    /// Events handled so far.
    var events: Int { state.value.events }
    /// Everything read so far.
    var received: String { String(decoding: state.value.bytes, as: UTF8.self) }
    /// Whether every event came on the reactor's thread.
    var handledOnLoop: Bool { state.value.threadsOK }

    func handle(_ events: Epoll.Events) {
        let onLoop = reactor.inLoop
        let bytes = readAvailable(descriptor)
        if bytes == nil { reactor.unwatch(descriptor) }  // the peer closed: level-triggered, it would keep firing
        state.update { state in
            state.events += 1
            state.bytes += bytes ?? []
            state.threadsOK = state.threadsOK && onLoop
        }
        log.update { $0.append("\(name): \(String(decoding: bytes ?? [], as: UTF8.self))") }
        afterEvent?()
    }

    func forceClose() {}
}

/// What the reactors of this process watch, each descriptor with its event mask (epoll's bits, which for reading
/// and writing are poll's too): how a test waits, without sleeping, until an async call has registered its socket
/// with the client reactor, or waits for room to write. From /proc (Linux): the epoll instances' fdinfo, and, for
/// the poll(2) selector (`UDSKIT_SELECTOR=poll`), the `pollfd` arrays of the threads blocked in `poll`.
func reactorRegistrations() -> [(descriptor: CInt, events: UInt32)] {
    epollInstanceRegistrations() + blockedPollRegistrations()
}

private func epollInstanceRegistrations() -> [(descriptor: CInt, events: UInt32)] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
    var registrations: [(descriptor: CInt, events: UInt32)] = []
    for entry in entries {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry),
            target == "anon_inode:[eventpoll]",
            let info = try? String(contentsOfFile: "/proc/self/fdinfo/" + entry, encoding: .utf8)
        else { continue }
        // Lines such as "tfd:        7 events:       19 data: 100000007  pos:0 ino:… sdev:…" (events in hex).
        for line in info.split(separator: "\n") where line.hasPrefix("tfd:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3, fields[2] == "events:", let fd = CInt(fields[1]),
                let events = UInt32(fields[3], radix: 16)
            else { continue }
            registrations.append((fd, events))
        }
    }
    return registrations
}

/// The descriptors that threads of this process blocked in `poll(2)` wait on: /proc/self/task/*/syscall names the
/// call and its arguments (x86_64: 7 is poll; the first argument the `pollfd` array, the second its length), and
/// /proc/self/mem reads the array safely (a read of memory freed meanwhile fails instead of crashing).
private func blockedPollRegistrations() -> [(descriptor: CInt, events: UInt32)] {
    #if arch(x86_64)
        let pollSyscall = "7"
    #else
        let pollSyscall = "73"  // ppoll on arm64, which has no poll
    #endif
    guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return [] }
    let memory = open("/proc/self/mem", O_RDONLY)
    guard memory >= 0 else { return [] }
    defer { _ = close(memory) }
    var registrations: [(descriptor: CInt, events: UInt32)] = []
    for task in tasks {
        guard let line = try? String(contentsOfFile: "/proc/self/task/\(task)/syscall", encoding: .utf8) else {
            continue
        }
        let fields = line.split(separator: " ")
        guard fields.count > 3, fields[0] == pollSyscall,
            let address = UInt64(fields[1].dropFirst(2), radix: 16), let count = Int(fields[2].dropFirst(2), radix: 16),
            count > 0, count < 1 << 20
        else { continue }
        var entries = [pollfd](repeating: pollfd(), count: count)
        let size = count * MemoryLayout<pollfd>.stride
        let read = entries.withUnsafeMutableBytes {
            pread(memory, $0.baseAddress, size, off_t(Int64(bitPattern: address)))
        }
        guard read == size else { continue }
        for entry in entries where entry.fd >= 0 {
            registrations.append((entry.fd, UInt32(UInt16(bitPattern: entry.events))))
        }
    }
    return registrations
}

/// The descriptors that a reactor of this process watches.
func descriptorsWatchedByAReactor() -> Set<CInt> { Set(reactorRegistrations().map(\.descriptor)) }

/// Whether a reactor of this process watches some descriptor for writability: a writer waits for room.
func someDescriptorWaitsForRoom() -> Bool {
    reactorRegistrations().contains { $0.events & Epoll.Events.writable.rawValue != 0 }
}

/// The number of threads in this process (the entries of /proc/self/task).
func threadCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
}

/// Samples `threadCount()` on a thread of its own (never starved by busy tasks) until stopped; keeps the maximum.
final class ThreadCountSampler: @unchecked Sendable {
    private let maximum = Shared(0)
    private let stopped = Flag()
    private let finished = Flag()

    init() {
        let thread = Thread { [maximum, stopped, finished] in
            while !stopped.isSet {
                let count = threadCount()
                maximum.update { $0 = max($0, count) }
                usleep(2_000)  // the sampling interval: this samples a count, it waits for nothing
            }
            finished.set()
        }
        thread.start()
    }

    /// Stops sampling and returns the most threads seen at once.
    func stop() async throws -> Int {
        stopped.set()
        try await waitUntil("the thread sampler stops") { finished.isSet }
        return maximum.value
    }
}

/// A listening Unix stream socket made with plain system calls, which accepts only when told to: a server whose
/// backlog a test can fill.
final class RawListener: @unchecked Sendable {
    let path: String
    let descriptor: CInt

    init(path: String, backlog: CInt) throws {
        self.path = path
        descriptor = socket(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket failed: errno \(errno)") }
        let bound = withSocketAddress(path) { bind(descriptor, $0, $1) }
        guard bound == 0 else { throw TestFailure("bind(\(path)) failed: errno \(errno)") }
        guard listen(descriptor, backlog) == 0 else { throw TestFailure("listen failed: errno \(errno)") }
    }

    deinit {
        _ = close(descriptor)
        unlink(path)
    }

    /// Connects non-blocking sockets until the kernel answers `EAGAIN` (the backlog is full); returns them. Fails
    /// after `limit`.
    func fillBacklog(limit: Int = 64) throws -> [CInt] {
        var connected: [CInt] = []
        for _ in 0..<limit {
            let fd = socket(
                AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw TestFailure("socket failed: errno \(errno)") }
            let result = withSocketAddress(path) { connect(fd, $0, $1) }
            if result == 0 {
                connected.append(fd)
                continue
            }
            let error = errno
            _ = close(fd)
            guard error == EAGAIN else { throw TestFailure("connect failed: errno \(error)") }
            return connected
        }
        throw TestFailure("the backlog never filled after \(limit) connects")
    }

    /// Accepts one connection (blocking); returns its descriptor.
    func accept() throws -> CInt {
        let fd = Glibc.accept(descriptor, nil, nil)
        guard fd >= 0 else { throw TestFailure("accept failed: errno \(errno)") }
        return fd
    }
}

/// Reads a blocking `fd` to its end.
func readToEnd(_ fd: CInt) -> [UInt8] {
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { return result }
        result += chunk[..<count]
    }
}
