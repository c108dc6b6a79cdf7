#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Foundation
import Testing
@testable import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// The reactor itself, over `socketpair(2)`: events, wake-ups from other threads, timers, and a descriptor
    /// closed while registered.
    @Suite struct ReactorTests {
        @Test func aRegisteredSourceIsHandledWhenItsPeerWrites() async throws {
            try await withReactor { reactor in
                let pair = try SocketPair()
                defer { pair.close() }
                let log = Shared<[String]>([])
                let source = RecordingSource("first", descriptor: pair.first, reactor: reactor, log: log)
                try await onLoop(reactor) {
                    reactor.adopt(pair.first, source)
                    try reactor.watch(pair.first, .readable)
                }
                try writeAll(pair.second, "hello")
                try await waitUntil("the source has read hello") { source.received == "hello" }
                try writeAll(pair.second, " again")
                try await waitUntil("the source has read the second write") { source.received == "hello again" }
                #expect(source.handledOnLoop)
                try await onLoop(reactor) { reactor.releaseOpen(pair.first) }
            }
        }

        @Test func executeFromAnotherThreadWakesTheIdleLoop() async throws {
            try await withReactor { reactor in
                // The loop has nothing to watch and no timer: it sleeps in epoll_wait with no timeout, so only the
                // wake-up can get it to run the body.
                let ranOnLoop = Shared<[Bool]>([])
                for round in 1...3 {
                    Thread.detachNewThread {
                        reactor.execute { ranOnLoop.update { $0.append(reactor.inLoop) } }
                    }
                    try await waitUntil("the body queued from a thread ran (round \(round))") {
                        ranOnLoop.value.count == round
                    }
                }
                #expect(ranOnLoop.value == [true, true, true])
                #expect(!reactor.inLoop, "the test itself does not run on the loop")
            }
        }

        @Test func executeOnTheLoopRunsAfterTheCurrentBodyNotInsideIt() async throws {
            try await withReactor { reactor in
                let order = Shared<[String]>([])
                let done = Flag()
                reactor.execute {
                    reactor.execute {
                        order.update { $0.append("queued from the loop") }
                        done.set()
                    }
                    order.update { $0.append("rest of the first body") }
                }
                try await waitUntil("the queued body ran") { done.isSet }
                #expect(order.value == ["rest of the first body", "queued from the loop"])
            }
        }

        @Test func timersFireInDeadlineOrderWhateverTheOrderTheyWereSet() async throws {
            try await withReactor { reactor in
                let fired = Shared<[String]>([])
                let delays: [(String, Int)] = [
                    ("300 ms", 300), ("100 ms", 100), ("0 ms", 0), ("250 ms", 250), ("150 ms, first", 150),
                    ("50 ms", 50), ("150 ms, second", 150), ("200 ms", 200),
                ]
                try await onLoop(reactor) {
                    for (name, milliseconds) in delays {
                        reactor.schedule(after: .milliseconds(milliseconds)) {
                            fired.update { $0.append(name) }
                            if name == "300 ms" {
                                // Set from inside a timer, the later one first.
                                reactor.schedule(after: .milliseconds(100)) { fired.update { $0.append("then 100 ms") } }
                                reactor.schedule(after: .zero) { fired.update { $0.append("then 0 ms") } }
                            }
                        }
                    }
                }
                try await waitUntil("every timer has fired") { fired.value.count == delays.count + 2 }
                #expect(
                    fired.value == [
                        "0 ms", "50 ms", "100 ms", "150 ms, first", "150 ms, second", "200 ms", "250 ms", "300 ms",
                        "then 0 ms", "then 100 ms",
                    ])
            }
        }

        @Test func aTimerRunsOnTheLoopWhileItWatchesSockets() async throws {
            try await withReactor { reactor in
                let pair = try SocketPair()
                defer { pair.close() }
                let log = Shared<[String]>([])
                let source = RecordingSource("first", descriptor: pair.first, reactor: reactor, log: log)
                let timerOnLoop = Shared<Bool?>(nil)
                try await onLoop(reactor) {
                    reactor.adopt(pair.first, source)
                    try reactor.watch(pair.first, .readable)
                    reactor.schedule(after: .milliseconds(20)) { timerOnLoop.update { $0 = reactor.inLoop } }
                }
                try await waitUntil("the timer fired") { timerOnLoop.value != nil }
                #expect(timerOnLoop.value == true)
                try writeAll(pair.second, "x")
                try await waitUntil("the source has read x") { source.received == "x" }
                try await onLoop(reactor) { reactor.releaseOpen(pair.first) }
            }
        }

        /// A source is released and its descriptor closed from inside another source's event handler, while an
        /// event for it is already in the same `epoll_wait` batch; its number is taken at once by a new socket with
        /// a source of its own. The stale event reaches neither: the generation in its token tells it apart.
        @Test func aDescriptorClosedWhileRegisteredGetsNoMoreEventsAndItsNumberGetsItsOwnSource() async throws {
            try await withReactor { reactor in
                let old = try SocketPair()  // old.first: the descriptor closed while registered
                let trigger = try SocketPair()  // trigger.first: the source that closes it
                let replacement = try SocketPair()  // replacement.first: its new file, moved to old.first's number
                let number = old.first
                let replaced = Flag()
                defer {
                    // `number` holds the replacement's file once replaced; its first descriptor is closed by then.
                    trigger.close()
                    _ = Glibc.close(number)
                    _ = Glibc.close(old.second)
                    _ = Glibc.close(replacement.second)
                    if !replaced.isSet { _ = Glibc.close(replacement.first) }
                }
                let log = Shared<[String]>([])
                let stale = RecordingSource("old", descriptor: number, reactor: reactor, log: log)
                let fresh = RecordingSource("new", descriptor: number, reactor: reactor, log: log)
                final class Closer: ReactorSource, @unchecked Sendable {
                    let run: () -> Void
                    let descriptor: CInt
                    var done = false
                    init(descriptor: CInt, _ run: @escaping () -> Void) {
                        self.descriptor = descriptor
                        self.run = run
                    }
                    func handle(_ events: Epoll.Events) {
                        _ = readAvailable(descriptor)
                        guard !done else { return }
                        done = true
                        run()
                    }
                    func forceClose() {}
                }
                let closer = Closer(descriptor: trigger.first) {
                    // Release, then close the old file and reuse its number in one step (dup2), so that no other
                    // thread of the test process can take the number in between.
                    reactor.release(number)
                    let moved = dup2(replacement.first, number)
                    precondition(moved == number, "dup2 failed: errno \(errno)")
                    _ = Glibc.close(replacement.first)
                    reactor.adopt(number, fresh)
                    do { try reactor.watch(number, .readable) } catch { preconditionFailure("watch: \(error)") }
                    replaced.set()
                }
                try await onLoop(reactor) {
                    reactor.adopt(number, stale)
                    try reactor.watch(number, .readable)
                    reactor.adopt(trigger.first, closer)
                    try reactor.watch(trigger.first, .readable)
                }
                // Both writes happen while the loop runs this body, not while it waits: the next epoll_wait returns
                // both events, the trigger's first (epoll reports in the order descriptors became ready).
                try await onLoop(reactor) {
                    try writeAll(trigger.second, "close it")
                    try writeAll(old.second, "for the old source")
                }
                try await waitUntil("the trigger replaced the descriptor") { replaced.isSet }
                // A barrier: a body queued now runs after the batch that held both events.
                try await onLoop(reactor) {}
                #expect(stale.events == 0, "the closed descriptor's source got an event: \(log.value)")
                #expect(fresh.events == 0, "the new source got the old descriptor's event: \(log.value)")
                // The new socket's own events reach the new source.
                try writeAll(replacement.second, "for the new source")
                try await waitUntil("the new source has read its bytes") { fresh.received == "for the new source" }
                #expect(stale.events == 0)
                try await onLoop(reactor) {
                    reactor.releaseOpen(number)
                    reactor.releaseOpen(trigger.first)
                }
            }
        }

        /// The simple case: a source released and its descriptor closed on the loop, with the peer writing after.
        @Test func aReleasedAndClosedDescriptorGetsNoEvents() async throws {
            try await withReactor { reactor in
                let pair = try SocketPair()
                let witness = try SocketPair()
                defer {
                    _ = Glibc.close(pair.second)
                    witness.close()
                }
                let log = Shared<[String]>([])
                let released = RecordingSource("released", descriptor: pair.first, reactor: reactor, log: log)
                let other = RecordingSource("witness", descriptor: witness.first, reactor: reactor, log: log)
                try await onLoop(reactor) {
                    reactor.adopt(pair.first, released)
                    try reactor.watch(pair.first, .readable)
                    reactor.adopt(witness.first, other)
                    try reactor.watch(witness.first, .readable)
                }
                try writeAll(pair.second, "one")
                try await waitUntil("the source has read one") { released.received == "one" }
                try await onLoop(reactor) {
                    reactor.release(pair.first)
                    _ = Glibc.close(pair.first)
                }
                _ = try? writeAll(pair.second, "two")  // fails: the other end is closed
                try writeAll(witness.second, "after")
                try await waitUntil("the witness has read its bytes") { other.received == "after" }
                #expect(released.events == 1, "\(log.value)")
                try await onLoop(reactor) { reactor.releaseOpen(witness.first) }
            }
        }
    }
}
