import SystemPackage

/// What a ``Reactor`` waits with: a set of descriptors, each with the events it wants and a token, and a way to wake
/// the wait from another thread. ``Epoll`` on Linux; ``PollSelector`` (`poll(2)`) everywhere else, and on Linux when
/// the environment says `UDSKIT_SELECTOR=poll`, so that the portable path is tested here too (NIO keeps its
/// selectors behind the same kind of seam: `SelectorEpoll.swift`, `SelectorKqueue.swift`).
///
/// A selector belongs to its reactor's thread, except ``wake()``.
protocol Selector: AnyObject {
    /// Starts watching `fd` for `events`, reporting them with `token`.
    func add(_ fd: CInt, _ events: Epoll.Events, data token: UInt64) throws(Errno)
    /// Changes what `fd` is watched for.
    func modify(_ fd: CInt, _ events: Epoll.Events, data token: UInt64) throws(Errno)
    /// Stops watching `fd`, which stays open.
    func remove(_ fd: CInt) throws(Errno)
    /// `fd` is about to be closed: forget it (epoll does so by itself when it is closed).
    func forget(_ fd: CInt)
    /// Waits up to `timeoutMilliseconds` (-1: forever) and fills `data`/`events`; returns the number ready. A wake-up
    /// is consumed here and reported as nothing ready.
    func wait(
        data: UnsafeMutablePointer<UInt64>, events: UnsafeMutablePointer<UInt32>, capacity: Int,
        timeoutMilliseconds: Int32
    ) throws(Errno) -> Int
    /// Makes a pending or the next `wait` return. Safe from any thread.
    func wake()
}

enum SelectorKind: String {
    case epoll, poll

    /// `UDSKIT_SELECTOR` (`epoll` or `poll`) if set, else epoll where there is one.
    static var current: SelectorKind {
        if let name = Syscall.environment("UDSKIT_SELECTOR"), let kind = SelectorKind(rawValue: name) { return kind }
        return Epoll.isAvailable ? .epoll : .poll
    }

    func make() throws(Errno) -> any Selector {
        switch self {
        case .epoll: return try Epoll()
        case .poll: return try PollSelector()
        }
    }
}
