import CUDSKit
import Synchronization
import SystemPackage

/// A descriptor a ``Reactor`` watches. All its methods run on the reactor's thread.
protocol ReactorSource: AnyObject {
    /// The descriptor is ready as `events` says.
    func handle(_ events: Epoll.Events)
    /// The server is shutting down gracefully: take no new work, finish what is in flight.
    func beginGracefulClose()
    /// The reactor is shutting down: release the descriptor now.
    func forceClose()
    /// Time passes: a chance to enforce timeouts. Called about every tick interval (see `startTicking`).
    func tick(now: ContinuousClock.Instant)
}

extension ReactorSource {
    func beginGracefulClose() {}
    func tick(now: ContinuousClock.Instant) {}
}

/// One thread that waits on its ``Selector`` (epoll on Linux, `poll(2)` elsewhere) and runs the code for the
/// descriptors that are ready: UDSKit's own event loop.
///
/// Why not SwiftNIO's: the per-message path of a one-message-per-connection server is a handful of system calls, and
/// NIO's channel machinery (pipelines, promises, a receive buffer kept per channel) costs several times that in CPU
/// and, at 10,000 connections, ~100 MiB of memory (see BENCHMARKS.md, measured before and after). This loop reads
/// into one buffer per thread, keeps no per-connection buffer, and tries a read right after accept, so a message
/// already sent costs no epoll round trip.
///
/// Everything but ``execute(_:)``, ``stop()`` and ``inLoop`` must be called on the reactor's own thread; debug
/// builds check that (``assertInLoop()``), which is what earns the `@unchecked Sendable`.
final class Reactor: @unchecked Sendable {
    private let selector: any Selector
    /// Registered sources by descriptor; the generation tells an event for a closed descriptor from one for its
    /// successor with the same number.
    private var slots: [Slot?] = []
    private var nextGeneration: UInt32 = 1
    private struct Slot {
        var source: any ReactorSource
        var generation: UInt32
        /// `interest`'s raw value, `UInt32.max` for `nil`: a slot then takes 24 bytes instead of 32, and every
        /// reactor has a slot for every descriptor number up to the highest it watches.
        private var watched: UInt32 = .max
        /// The events watched; `nil` while the selector does not know the descriptor.
        var interest: Epoll.Events? {
            get { watched == .max ? nil : Epoll.Events(rawValue: watched) }
            set { watched = newValue?.rawValue ?? .max }
        }

        init(source: any ReactorSource, generation: UInt32) {
            self.source = source
            self.generation = generation
        }
    }
    /// Work queued from anywhere, and the batch being run: ``runPending()`` swaps the two, so that neither array is
    /// reallocated per wake-up (taking the queue as a copy made `removeAll(keepingCapacity:)` allocate a new buffer
    /// of the whole capacity each time: with 10,000 exchanges at once, a fresh 240 KB `mmap` per loop turn).
    private let pending = Locked<[Work]>([])
    private var running: [Work] = []
    /// Items of `running` after the one being run.
    private var laterInTurn = 0
    /// Capacity kept between turns; a burst above it is freed once it has run.
    private static let keptWorkCapacity = 1024
    private var timers = TimerHeap()
    private var isStopping = false
    /// The thread running ``run()`` (`pthread_self`), 0 before it starts.
    private let loopThread = Atomic<UInt>(0)
    /// The buffer every read on this reactor goes through; consumers copy what they keep.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Whether this loop's clients read right after writing (``ConnectionDriver/readEagerly()``); loop thread only.
    var eagerRead = EagerRead()

    init(readBufferSize: Int) throws(Errno) {
        selector = try SelectorKind.current.make()
        readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
    }

    deinit { readBuffer.deallocate() }

    // MARK: Sources

    /// Adds `source` for `fd` without watching it yet (see ``watch(_:_:)``); returns its token.
    @discardableResult
    func adopt(_ fd: CInt, _ source: any ReactorSource) -> UInt64 {
        assertInLoop()
        let index = Int(fd)
        if index >= slots.count { slots.append(contentsOf: repeatElement(nil, count: index + 1 - slots.count)) }
        nextGeneration &+= 1
        slots[index] = Slot(source: source, generation: nextGeneration)
        return UInt64(nextGeneration) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    /// Watches `fd` for `events` (an empty set pauses it); cheap when nothing changes.
    func watch(_ fd: CInt, _ events: Epoll.Events) throws(Errno) {
        assertInLoop()
        let index = Int(fd)
        guard index < slots.count, var slot = slots[index] else { return }
        guard slot.interest != events else { return }
        let token = UInt64(slot.generation) << 32 | UInt64(UInt32(bitPattern: fd))
        if slot.interest == nil {
            try selector.add(fd, events, data: token)
        } else {
            try selector.modify(fd, events, data: token)
        }
        slot.interest = events
        slots[index] = slot
    }

    /// Stops watching `fd` but keeps its source (a listener pausing).
    func unwatch(_ fd: CInt) {
        let index = Int(fd)
        guard index < slots.count, var slot = slots[index], slot.interest != nil else { return }
        try? selector.remove(fd)
        slot.interest = nil
        slots[index] = slot
    }

    /// Forgets `fd`'s source. Call just before closing the descriptor (closing removes it from epoll; the poll
    /// selector forgets it here).
    func release(_ fd: CInt) {
        assertInLoop()
        let index = Int(fd)
        guard index < slots.count else { return }
        if slots[index]?.interest != nil { selector.forget(fd) }
        slots[index] = nil
    }

    /// Forgets `fd`'s source and stops watching it, for a descriptor that stays open (a shared listener).
    func releaseOpen(_ fd: CInt) {
        unwatch(fd)
        release(fd)
    }

    /// Asks every source to finish what is in flight and take nothing new: the start of a graceful shutdown.
    func beginGracefulCloseAll() {
        for slot in slots { slot?.source.beginGracefulClose() }
    }

    /// Closes every source now: the end of a shutdown.
    func forceCloseAll() {
        for slot in slots { slot?.source.forceClose() }
    }

    // MARK: Work from elsewhere

    /// Runs `body` on this reactor's thread, soon: after the events at hand, never inside the caller. Safe from any
    /// thread. From another thread the first body queued wakes the loop (one `eventfd` write); on the loop's own
    /// thread nothing needs waking, since the loop runs what is queued before it waits again.
    func execute(_ body: @escaping @Sendable () -> Void) {
        queue(.body(body))
    }

    /// Something to run on the loop: a job of a task that prefers the reactor, a job of an actor that lives on it
    /// (no closure to allocate for either), or a body.
    enum Work {
        case job(UnownedJob)
        case isolatedJob(UnownedJob, UnownedSerialExecutor)
        case body(@Sendable () -> Void)
    }

    func queue(_ work: Work) {
        let wasEmpty = pending.withLock { queue in
            queue.append(work)
            return queue.count == 1
        }
        if wasEmpty && !inLoop { selector.wake() }
    }

    /// Runs `body` now when called on this reactor's thread (a task that prefers it as its executor), else as
    /// ``execute(_:)`` does.
    func perform(_ body: @escaping @Sendable () -> Void) {
        if inLoop { body() } else { execute(body) }
    }

    /// Whether the caller runs on this reactor's thread as the last work queued: nothing else is to run before the
    /// loop waits again, so work it would queue for later (to gather it with others') may as well run now.
    var isLastWorkOfTurn: Bool {
        inLoop && laterInTurn == 0 && pending.withLock { $0.isEmpty }
    }

    /// Whether the caller runs on this reactor's thread.
    var inLoop: Bool { loopThread.load(ordering: .relaxed) == UInt(cudskit_current_thread()) }

    /// Traps in debug builds when called off the reactor's thread: state that only the loop touches stays so.
    @inline(__always)
    func assertInLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(
            inLoop || loopThread.load(ordering: .relaxed) == 0, "called off the reactor's thread", file: file,
            line: line)
    }

    /// Runs `body` on this thread after `delay`. Call on the reactor's thread.
    func schedule(after delay: Duration, _ body: @escaping () -> Void) {
        assertInLoop()
        timers.insert(deadline: ContinuousClock.now + delay, body)
    }

    /// Calls every source's `tick(now:)` every `interval`, for timeouts. Call on the reactor's thread.
    func startTicking(every interval: Duration) {
        schedule(after: interval) { [weak self] in
            guard let self else { return }
            let now = ContinuousClock.now
            for slot in slots { slot?.source.tick(now: now) }
            startTicking(every: interval)
        }
    }

    /// Ends ``run()`` after the work queued so far. Safe from any thread.
    func stop() {
        execute { [self] in isStopping = true }
    }

    // MARK: The loop

    /// Waits for and handles events until ``stop()``. Runs on the reactor's thread.
    func run() {
        loopThread.store(UInt(cudskit_current_thread()), ordering: .relaxed)
        let capacity = 128
        let data = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        let events = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        defer {
            data.deallocate()
            events.deallocate()
        }
        while !isStopping {
            let ready: Int
            do {
                ready = try selector.wait(
                    data: data, events: events, capacity: capacity, timeoutMilliseconds: nextTimeout())
            } catch {
                preconditionFailure("waiting for events failed: \(error)")  // EBADF, EFAULT, EINVAL: a bug here
            }
            for index in 0..<ready {
                let token = data[index]
                let fd = Int(UInt32(truncatingIfNeeded: token))
                guard fd < slots.count, let slot = slots[fd], slot.generation == UInt32(token >> 32) else { continue }
                slot.source.handle(Epoll.Events(rawValue: events[index]))
            }
            runDueTimers()
            runPending()  // last: what the events and timers queued runs before the next wait
        }
        runPending()
    }

    private func runPending() {
        while true {
            pending.withLock { swap(&$0, &running) }
            if running.isEmpty { return }
            for index in running.indices {
                laterInTurn = running.count - index - 1
                switch running[index] {
                case .job(let job):
                    job.runSynchronously(on: asUnownedTaskExecutor())
                case .isolatedJob(let job, let executor):
                    job.runSynchronously(isolatedTo: executor, taskExecutor: asUnownedTaskExecutor())
                case .body(let body):
                    body()
                }
            }
            laterInTurn = 0
            if running.capacity > Self.keptWorkCapacity {
                running = []
            } else {
                running.removeAll(keepingCapacity: true)
            }
        }
    }

    private func nextTimeout() -> Int32 {
        guard let first = timers.nextDeadline else { return -1 }
        let left = first - ContinuousClock.now
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    private func runDueTimers() {
        guard !timers.isEmpty else { return }
        let now = ContinuousClock.now
        while let body = timers.popDue(at: now) { body() }
    }
}

/// A value that belongs to one reactor's thread, carried through a `@Sendable` closure back to it.
struct ReactorBound<Value>: @unchecked Sendable {
    let reactor: Reactor
    private let value: Value

    init(_ value: Value, on reactor: Reactor) {
        self.value = value
        self.reactor = reactor
    }

    /// The value, for a caller on its reactor's thread.
    var valueInLoop: Value {
        reactor.assertInLoop()
        return value
    }

    /// Runs `body` with the value on its reactor's thread.
    func execute(_ body: @escaping @Sendable (Value) -> Void) {
        reactor.execute { body(self.value) }
    }

    /// Runs `body` with the value now if on its reactor's thread, else soon on it (``Reactor/perform(_:)``).
    func perform(_ body: @escaping @Sendable (Value) -> Void) {
        reactor.perform { body(self.value) }
    }
}
