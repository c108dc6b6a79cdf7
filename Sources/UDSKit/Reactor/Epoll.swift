import CUDSKit
import SystemPackage

/// The epoll instance and wake-up descriptor behind a ``Reactor`` on Linux; every call retries EINTR and throws
/// `Errno`. ``Events`` are the readiness bits every ``Selector`` reports.
final class Epoll: Selector {
    /// Whether this platform has epoll (Linux).
    static var isAvailable: Bool { cudskit_has_epoll() != 0 }

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
        do {
            _ = try retryingInterrupts {
                cudskit_epoll_ctl(descriptor, cudskit_epoll_ctl_add, wakeDescriptor, cudskit_epollin, wakeToken)
            }
        } catch {
            Syscall.close(wakeDescriptor)
            Syscall.close(descriptor)
            throw error
        }
    }

    deinit {
        Syscall.close(wakeDescriptor)
        Syscall.close(descriptor)
    }

    private let wakeToken = UInt64.max

    func add(_ fd: CInt, _ events: Events, data: UInt64) throws(Errno) {
        _ = try retryingInterrupts { cudskit_epoll_ctl(descriptor, cudskit_epoll_ctl_add, fd, events.rawValue, data) }
    }

    func modify(_ fd: CInt, _ events: Events, data: UInt64) throws(Errno) {
        _ = try retryingInterrupts { cudskit_epoll_ctl(descriptor, cudskit_epoll_ctl_mod, fd, events.rawValue, data) }
    }

    /// Closing a descriptor removes it from epoll: nothing to do.
    func forget(_ fd: CInt) {}

    func remove(_ fd: CInt) throws(Errno) {
        _ = try retryingInterrupts { cudskit_epoll_ctl(descriptor, cudskit_epoll_ctl_del, fd, 0, 0) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and fills `data`/`events`; returns the number ready, without
    /// the wake-up descriptor's event (it is drained here).
    func wait(
        data: UnsafeMutablePointer<UInt64>, events: UnsafeMutablePointer<UInt32>, capacity: Int,
        timeoutMilliseconds: Int32
    ) throws(Errno) -> Int {
        var count: Int
        do {
            count = Int(
                try retryingInterrupts {
                    cudskit_epoll_wait(descriptor, data, events, Int32(capacity), timeoutMilliseconds)
                })
        } catch .interrupted {
            return 0
        }
        var index = 0
        while index < count {
            if data[index] == wakeToken {
                _ = cudskit_eventfd_drain(wakeDescriptor)
                count -= 1
                data[index] = data[count]
                events[index] = events[count]
            } else {
                index += 1
            }
        }
        return count
    }

    /// Makes a pending or the next `wait` return.
    func wake() { _ = cudskit_eventfd_signal(wakeDescriptor) }
}
