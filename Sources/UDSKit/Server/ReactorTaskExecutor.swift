/// Runs tasks on a reactor's thread: a connection handler's task with this executor preference runs where its
/// connection's bytes are read and written, so a request and its reply cost no thread wake-up.
///
/// Used for framed handlers when ``MessageServer/Configuration/runsHandlersOnEventLoop`` is set. Work a task does
/// there delays every other connection of the same loop, so it fits handlers that do not block.
final class ReactorTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the only state is the reactor, whose `execute` is safe from any thread.
    private let reactor: Reactor

    init(_ reactor: Reactor) { self.reactor = reactor }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        reactor.execute { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}
