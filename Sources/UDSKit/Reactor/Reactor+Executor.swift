/// A reactor runs Swift tasks too: it is a `TaskExecutor`, so that a task can prefer it
/// (`withTaskExecutorPreference(client.executor) { … }`, `Task(executorPreference:)`) and make whole exchanges on the
/// thread where their bytes arrive; a ``ReactorSerialExecutor`` lets an actor live on it, as on a SwiftNIO event loop.
///
/// A job runs on the loop's thread after the events at hand, like any ``Reactor/execute(_:)`` body. An exchange
/// whose task runs here resumes without a thread switch: its reply is read and its continuation resumed on the same
/// thread, and the task's next step is queued behind it.
///
/// A task's job runs on the reactor as its task executor only, not isolated to it: nonisolated async code (most of a
/// client's calls, a task group's child, an `AsyncSequence`'s `next()`) then goes on in place, where a job isolated
/// to the reactor as a serial executor had to be queued again behind every other job at each such call (10,000
/// chunked deliveries at once connected all before any of them went on; 10-15% slower, BENCHMARKS.md).
extension Reactor: TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        queue(.job(UnownedJob(job)))
    }

    func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }
}

/// A reactor as an actor's executor: the actor's jobs run on the reactor's thread, isolated to it. The actor owns
/// it (`nonisolated let executor = ReactorSerialExecutor(reactor)`), which keeps the reactor too.
final class ReactorSerialExecutor: SerialExecutor {
    let reactor: Reactor

    init(_ reactor: Reactor) { self.reactor = reactor }

    func enqueue(_ job: consuming ExecutorJob) {
        reactor.queue(.isolatedJob(UnownedJob(job), asUnownedSerialExecutor()))
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func checkIsolated() {
        precondition(reactor.inLoop, "expected to run on the reactor's thread")
    }
}
