/// A reactor runs Swift tasks too: it is a `TaskExecutor`, so that a task can prefer it
/// (`withTaskExecutorPreference(client.executor) { … }`, `Task(executorPreference:)`) and make whole exchanges on the
/// thread where their bytes arrive, and a `SerialExecutor`, so that an actor can live on it, as SwiftNIO's event
/// loops can (`NIOSerialEventLoopExecutor`).
///
/// A job runs on the loop's thread after the events at hand, like any ``Reactor/execute(_:)`` body. An exchange
/// whose task runs here resumes without a thread switch: its reply is read and its continuation resumed on the same
/// thread, and the task's next step is queued behind it.
extension Reactor: TaskExecutor, SerialExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        queue(.job(UnownedJob(job)))
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    func checkIsolated() {
        precondition(inLoop, "expected to run on the reactor's thread")
    }
}
