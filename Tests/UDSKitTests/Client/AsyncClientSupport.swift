import UDSKitTestSupport

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Holds every caller until `count` of them wait at once, then lets them all (and every later one) through: how a
/// test knows that many exchanges were in flight together, without timing them. ``open()`` lets them through early.
final class Gate: Sendable {
    private struct State {
        var waiting: [CheckedContinuation<Void, Never>] = []
        var isOpen = false
        var peak = 0
        var arrived = 0
    }
    private let state = Shared(State())
    let count: Int

    init(count: Int) { self.count = count }

    /// The most callers that waited at once.
    var peak: Int { state.value.peak }
    /// How many callers have arrived in all.
    var arrived: Int { state.value.arrived }

    func arrive() async {
        await withCheckedContinuation { continuation in
            let release = state.update { state -> [CheckedContinuation<Void, Never>] in
                state.arrived += 1
                if state.isOpen { return [continuation] }
                state.waiting.append(continuation)
                state.peak = max(state.peak, state.waiting.count)
                guard state.waiting.count >= count else { return [] }
                state.isOpen = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for waiter in release { waiter.resume() }
        }
    }

    /// Lets every caller through, now and from now on.
    func open() {
        let release = state.update { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiter in release { waiter.resume() }
    }
}

/// A gate that opens only when told: a handler that holds its reply until the test lets it go.
func makeLatch() -> Gate { Gate(count: Int.max) }

/// Sets `SO_RCVTIMEO` on a raw socket, so that a test's blocking accept or read cannot hang the run.
func setReceiveTimeout(_ fd: CInt, seconds: Int) {
    var timeout = timeval(tv_sec: seconds, tv_usec: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
}

/// Counts the elements taken from `base` into `counter`.
struct AsyncCountingSequence<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element: Sendable {
    typealias Element = Base.Element
    let base: Base
    let counter: Shared<Int>

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let counter: Shared<Int>
        mutating func next() async throws -> Element? {
            guard let element = try await base.next() else { return nil }
            counter.update { $0 += 1 }
            return element
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), counter: counter) }
}
