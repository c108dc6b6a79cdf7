import UDSKitTestSupport

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

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
