#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("UDSKit supports Linux and Darwin")
#endif

/// A thread of its own for code that blocks in system calls (a blocking read of standard input, a child process's
/// pipes, a load generator's blocking sockets), where a task would hold up a Swift concurrency thread.
///
/// What Foundation's `Thread.detachNewThread` does, over `pthread_create(3)`, so that the package's executables need
/// no Foundation for it.
package enum DetachedThread {
    /// Runs `body` on a new detached thread and returns at once. A failure to create a thread (`EAGAIN`: the
    /// process or the user ran out of threads) traps: nothing sensible can go on without it.
    package static func start(_ body: @escaping @Sendable () -> Void) {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t? = nil
        #else
        var thread = pthread_t()
        #endif
        let result = pthread_create(
            &thread, nil,
            { raw in
                #if canImport(Darwin)
                let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
                #else
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                #endif
                box.body()
                return nil
            }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
        #if canImport(Darwin)
        pthread_detach(thread!)
        #else
        pthread_detach(thread)
        #endif
    }

    /// Runs `body` on a new thread and returns its result once it is done, without blocking the calling task's
    /// thread meanwhile.
    package static func run<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            start { continuation.resume(returning: body()) }
        }
    }
}
