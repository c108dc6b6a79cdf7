/// A thread of its own for code that blocks in system calls (a blocking read of standard input, a child process's
/// pipes, a load generator's blocking sockets), where a task would hold up a Swift concurrency thread.
///
/// What Foundation's `Thread.detachNewThread` does, over `pthread_create(3)` (``Syscall/startDetachedThread(_:)``,
/// which the reactors use too), so that the package's executables need no Foundation for it.
package enum DetachedThread {
    /// Runs `body` on a new detached thread and returns at once. A failure to create a thread (`EAGAIN`: the
    /// process or the user ran out of threads) traps: nothing sensible can go on without it.
    package static func start(_ body: @escaping @Sendable () -> Void) {
        Syscall.startDetachedThread(body)
    }

    /// Runs `body` on a new thread and returns its result once it is done, without blocking the calling task's
    /// thread meanwhile.
    package static func run<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            start { continuation.resume(returning: body()) }
        }
    }
}
