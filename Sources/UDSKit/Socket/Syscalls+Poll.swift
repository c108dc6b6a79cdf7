import CUDSKit
import SystemPackage

// The poll(2) calls behind the reactor's portable selector, the pipe that wakes it, and the environment: C library
// calls, so they live in the syscall layer with the rest.
#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The descriptors one `poll(2)` call waits on, each with what it waits for, and what the call reported.
struct PollSet {
    /// What `poll` reported for a descriptor.
    struct Readiness {
        var readable: Bool
        var writable: Bool
        var error: Bool
        var hangUp: Bool
        /// The peer shut its side down for writing (`POLLRDHUP`, Linux only).
        var readHangUp: Bool
    }

    private var entries: [pollfd] = []

    var count: Int { entries.count }

    func descriptor(at index: Int) -> CInt { entries[index].fd }

    mutating func append(_ fd: CInt, readable: Bool, writable: Bool) {
        entries.append(pollfd(fd: fd, events: Self.events(readable: readable, writable: writable), revents: 0))
    }

    mutating func update(at index: Int, readable: Bool, writable: Bool) {
        entries[index].events = Self.events(readable: readable, writable: writable)
    }

    /// Removes the entry at `index` by moving the last one into its place.
    mutating func remove(at index: Int) {
        entries.swapAt(index, entries.count - 1)
        entries.removeLast()
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever); returns how many entries have something to report (0 after
    /// EINTR).
    mutating func wait(timeoutMilliseconds: Int32) throws(Errno) -> Int {
        let count = entries.count
        do {
            return Int(
                try entries.withUnsafeMutableBufferPointer { buffer throws(Errno) in
                    try retryingInterrupts { poll(buffer.baseAddress, nfds_t(count), timeoutMilliseconds) }
                })
        } catch .interrupted {
            return 0
        }
    }

    func readiness(at index: Int) -> Readiness? {
        let bits = Int32(entries[index].revents)
        guard bits != 0 else { return nil }
        let readHangUp = bits & Int32(cudskit_pollrdhup) != 0 && cudskit_pollrdhup != 0
        return Readiness(
            readable: bits & Int32(POLLIN) != 0, writable: bits & Int32(POLLOUT) != 0,
            error: bits & Int32(POLLERR | POLLNVAL) != 0, hangUp: bits & Int32(POLLHUP) != 0, readHangUp: readHangUp)
    }

    private static func events(readable: Bool, writable: Bool) -> Int16 {
        var bits: Int32 = 0
        if readable {
            bits |= Int32(POLLIN) | Int32(cudskit_pollrdhup)
        }
        if writable { bits |= Int32(POLLOUT) }
        return Int16(bits)
    }
}

extension Syscall {
    /// A non-blocking, close-on-exec pipe whose read end a poll set watches and whose write end wakes it.
    static func makeWakePipe() throws(Errno) -> (read: CInt, write: CInt) {
        var fds: [CInt] = [-1, -1]
        _ = try retryingInterrupts { cudskit_pipe_cloexec(&fds) }
        do {
            try setNonBlocking(fds[0], true)
            try setNonBlocking(fds[1], true)
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        return (fds[0], fds[1])
    }

    /// Writes one byte to a wake pipe; a full pipe already wakes its reader.
    static func signalWakePipe(_ fd: CInt) {
        var byte: UInt8 = 1
        _ = try? retryingInterrupts { write(fd, &byte, 1) }
    }

    /// Reads everything waiting in a wake pipe.
    static func drainWakePipe(_ fd: CInt) {
        withUnsafeTemporaryAllocation(byteCount: 64, alignment: 1) { buffer in
            while (try? retryingInterrupts { read(fd, buffer.baseAddress, 64) }) ?? 0 > 0 {}
        }
    }
}
