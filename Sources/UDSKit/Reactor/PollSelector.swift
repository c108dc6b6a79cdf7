import SystemPackage

/// A ``Selector`` over `poll(2)`, for any Unix: the reactor's portable path.
///
/// It keeps one `pollfd` per watched descriptor and passes them all to each `poll`, so a wait costs time in
/// proportion to the descriptors watched (epoll's does not): fine for a client or a server of a few hundred
/// connections; Linux uses ``Epoll`` unless `UDSKIT_SELECTOR=poll`. `exclusive` (one of several reactors sharing a
/// listener) has no meaning here: every reactor that waits on the listener wakes, and all but one find no
/// connection (accept says `EAGAIN`).
final class PollSelector: Selector {
    private var set = PollSet()
    /// Each watched descriptor's place in `set` and its token.
    private var entries: [CInt: (index: Int, token: UInt64)] = [:]
    private let wakeRead: CInt
    private let wakeWrite: CInt

    init() throws(Errno) {
        (wakeRead, wakeWrite) = try Syscall.makeWakePipe()
        set.append(wakeRead, readable: true, writable: false)
    }

    deinit {
        Syscall.close(wakeRead)
        Syscall.close(wakeWrite)
    }

    func add(_ fd: CInt, _ events: Epoll.Events, data token: UInt64) throws(Errno) {
        guard entries[fd] == nil else { throw Errno.fileExists }  // as epoll's EEXIST
        entries[fd] = (set.count, token)
        set.append(fd, readable: events.contains(.readable), writable: events.contains(.writable))
    }

    func modify(_ fd: CInt, _ events: Epoll.Events, data token: UInt64) throws(Errno) {
        guard let entry = entries[fd] else { throw Errno.noSuchFileOrDirectory }  // as epoll's ENOENT
        entries[fd] = (entry.index, token)
        set.update(at: entry.index, readable: events.contains(.readable), writable: events.contains(.writable))
    }

    func remove(_ fd: CInt) throws(Errno) {
        guard let entry = entries.removeValue(forKey: fd) else { throw Errno.noSuchFileOrDirectory }
        let last = set.count - 1
        if entry.index != last {
            let moved = set.descriptor(at: last)
            entries[moved]?.index = entry.index
        }
        set.remove(at: entry.index)
    }

    func forget(_ fd: CInt) {
        try? remove(fd)
    }

    func wait(
        data: UnsafeMutablePointer<UInt64>, events: UnsafeMutablePointer<UInt32>, capacity: Int,
        timeoutMilliseconds: Int32
    ) throws(Errno) -> Int {
        guard try set.wait(timeoutMilliseconds: timeoutMilliseconds) > 0 else { return 0 }
        var count = 0
        for index in 0..<set.count where count < capacity {
            guard let readiness = set.readiness(at: index) else { continue }
            let fd = set.descriptor(at: index)
            if fd == wakeRead {
                Syscall.drainWakePipe(wakeRead)
                continue
            }
            guard let token = entries[fd]?.token else { continue }
            var bits: Epoll.Events = []
            if readiness.readable { bits.insert(.readable) }
            if readiness.writable { bits.insert(.writable) }
            if readiness.error { bits.insert(.error) }
            if readiness.hangUp { bits.insert(.hangUp) }
            if readiness.readHangUp { bits.insert(.readHangUp) }
            data[count] = token
            events[count] = bits.rawValue
            count += 1
        }
        return count
    }

    func wake() { Syscall.signalWakePipe(wakeWrite) }
}
