import CUDSKit
import SystemPackage

/// The epoll instance and wake-up descriptor behind a ``Reactor``; every call retries EINTR and throws `Errno`.
final class Epoll {
    /// Readiness bits, as epoll reports them.
    struct Events: OptionSet, Sendable {
        let rawValue: UInt32
        static let readable = Events(rawValue: cudskit_epollin)
        static let writable = Events(rawValue: cudskit_epollout)
        static let error = Events(rawValue: cudskit_epollerr)
        static let hangUp = Events(rawValue: cudskit_epollhup)
        static let readHangUp = Events(rawValue: cudskit_epollrdhup)
        /// Wake only one of the loops waiting on a shared descriptor (a listener).
        static let exclusive = Events(rawValue: cudskit_epollexclusive)
    }

    let descriptor: CInt
    let wakeDescriptor: CInt

    init() throws(Errno) {
        descriptor = try retryingInterrupts { cudskit_epoll_create() }
        do {
            wakeDescriptor = try retryingInterrupts { cudskit_eventfd() }
        } catch {
            Syscall.close(descriptor)
            throw error
        }
    }

    deinit {
        Syscall.close(wakeDescriptor)
        Syscall.close(descriptor)
    }

    func add(_ fd: CInt, _ events: Events, data: UInt64) throws(Errno) {
        _ = try retryingInterrupts { cudskit_epoll_ctl(descriptor, cudskit_epoll_ctl_add, fd, events.rawValue, data) }
    }

    func modify(_ fd: CInt, _ events: Events, data: UInt64) throws(Errno) {
        _ = try retryingInterrupts { cudskit_epoll_ctl(descriptor, cudskit_epoll_ctl_mod, fd, events.rawValue, data) }
    }

    func remove(_ fd: CInt) throws(Errno) {
        _ = try retryingInterrupts { cudskit_epoll_ctl(descriptor, cudskit_epoll_ctl_del, fd, 0, 0) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and fills `data`/`events`; returns the number ready.
    func wait(
        data: UnsafeMutablePointer<UInt64>, events: UnsafeMutablePointer<UInt32>, capacity: Int,
        timeoutMilliseconds: Int32
    ) throws(Errno) -> Int {
        do {
            return Int(
                try retryingInterrupts {
                    cudskit_epoll_wait(descriptor, data, events, Int32(capacity), timeoutMilliseconds)
                })
        } catch .interrupted {
            return 0
        }
    }

    /// Makes a pending or the next `wait` return.
    func wake() { _ = cudskit_eventfd_signal(wakeDescriptor) }

    func drainWakeups() { _ = cudskit_eventfd_drain(wakeDescriptor) }
}
