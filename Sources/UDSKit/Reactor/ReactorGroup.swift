import SystemPackage

/// A fixed set of reactors, each on a thread of its own, started together and stopped together.
final class ReactorGroup: Sendable {
    let reactors: [Reactor]

    /// Starts `count` reactors.
    init(count: Int, readBufferSize: Int) throws(Errno) {
        var reactors: [Reactor] = []
        for _ in 0..<max(1, count) { reactors.append(try Reactor(readBufferSize: readBufferSize)) }
        self.reactors = reactors
        for reactor in reactors {
            ThreadStarter.start { reactor.run() }
        }
    }

    /// Runs `body` on every reactor's thread and returns once all have.
    func onEach(_ body: @escaping @Sendable (Reactor) -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            for reactor in reactors {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        reactor.execute {
                            body(reactor)
                            continuation.resume()
                        }
                    }
                }
            }
        }
    }

    /// Stops every reactor's thread after the work queued so far.
    func stop() {
        for reactor in reactors { reactor.stop() }
    }

    /// The CPUs this process may run on (its affinity mask), at least 1.
    static var usableCPUCount: Int { Syscall.usableCPUCount }
}

/// Starts detached threads, for code that blocks in system calls (a reactor in `epoll_wait`), not tasks.
enum ThreadStarter {
    static func start(_ body: @escaping @Sendable () -> Void) { Syscall.startDetachedThread(body) }
}
