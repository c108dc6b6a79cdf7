import CUDSKit
import NIOCore

/// Happens-before edges that Thread Sanitizer cannot see by itself, where a reactor thread hands data to a task
/// through a continuation.
///
/// A continuation resumed while its task is still in the closure passed to `with…Continuation` (the task has
/// queued its continuation, say under a lock, and not yet suspended) makes the runtime's
/// `swift_continuation_await` find it already resumed and go on without suspending. The handoff is sound: that
/// path loads the continuation's status with acquire ordering, paired with the resumer's release. But the Swift
/// concurrency runtime is not instrumented, and unlike the path where the task did suspend (the resume calls
/// `_swift_tsan_release` on the task and running it calls `_swift_tsan_acquire`), this path tells TSan nothing. TSan
/// then reports the task's first read of what the reactor built, a reply's `ByteBuffer` storage for example, as a
/// race with its initialization. The same window exists inside NIO's `NIOThrowingAsyncSequenceProducer`: its
/// `next()` stores the consumer's continuation under its lock, and `yield` resumes it outside the lock.
///
/// So each such handoff says it twice: ``release(_:)`` on the reactor after building what it hands over and
/// before resuming, ``acquire(_:)`` in the task once the continuation (or `next()`) returns, both on an object the
/// two sides share (a connection's ``RequestQueue``, a ``FrameSequence``'s ``HandoffToken``). Only handoffs that
/// carry data built on the reactor need it. Outside TSan builds both are calls to empty C functions.
enum ThreadSanitizer {
    static func release(_ object: AnyObject) {
        cudskit_tsan_release(UnsafeRawPointer(Unmanaged.passUnretained(object).toOpaque()))
    }

    static func acquire(_ object: AnyObject) {
        cudskit_tsan_acquire(UnsafeRawPointer(Unmanaged.passUnretained(object).toOpaque()))
    }
}

/// An object whose address only names a handoff for ``ThreadSanitizer``.
final class HandoffToken: Sendable {}

/// The source of a `NIOThrowingAsyncSequenceProducer` whose elements a reactor hands to a task: NIO's source, with
/// a ``ThreadSanitizer/release(_:)`` before each handoff, paired with an acquire in the sequence's iterator.
struct HandoffSource<Element: Sendable, Delegate: NIOAsyncSequenceProducerDelegate>: Sendable {
    typealias Base = NIOThrowingAsyncSequenceProducer<
        Element, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Delegate
    >.Source
    let base: Base
    let handoff: HandoffToken

    func yield(_ element: Element) -> Base.YieldResult {
        ThreadSanitizer.release(handoff)
        return base.yield(element)
    }

    func finish() {
        ThreadSanitizer.release(handoff)
        base.finish()
    }

    func finish(_ error: any Error) {
        ThreadSanitizer.release(handoff)
        base.finish(error)
    }
}
