import Foundation
import Testing
import UDSKitTestSupport

@testable import UDSKit

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

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
                                reactor.schedule(after: .milliseconds(100)) {
                                    fired.update { $0.append("then 100 ms") }
                                }
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

        /// Two registered sockets become readable in one wait. Whichever event is handled first releases and
        /// closes the other socket's descriptor and gives its number at once to a new socket with a source of its
        /// own; the other socket's event, already in the same batch, then reaches neither the closed socket's
        /// source nor its successor: the generation in its token tells them apart. (Which of the two goes first
        /// is the selector's business: epoll reports in the order the descriptors became ready, poll in its set's
        /// order, and the wake-up's place can reorder either.)
        @Test func aDescriptorClosedWhileRegisteredGetsNoMoreEventsAndItsNumberGetsItsOwnSource() async throws {
            try await withReactor { reactor in
                let pairs = [try SocketPair(), try SocketPair()]
                let replacements = [try SocketPair(), try SocketPair()]
                let numbers = pairs.map(\.first)
                let log = Shared<[String]>([])
                let originals = (0..<2).map {
                    RecordingSource("original \($0)", descriptor: numbers[$0], reactor: reactor, log: log)
                }
                let successors = (0..<2).map {
                    RecordingSource("successor \($0)", descriptor: numbers[$0], reactor: reactor, log: log)
                }
                let replaced = Shared<Int?>(nil)  // which number got a new socket
                defer {
                    // Each number holds its original socket or, once replaced, the replacement's (whose first
                    // descriptor is closed by then).
                    for index in 0..<2 {
                        _ = Glibc.close(numbers[index])
                        _ = Glibc.close(pairs[index].second)
                        _ = Glibc.close(replacements[index].second)
                        if replaced.value != index { _ = Glibc.close(replacements[index].first) }
                    }
                }
                for index in 0..<2 {
                    let other = 1 - index
                    originals[index].afterEvent = {
                        guard replaced.value == nil else { return }
                        replaced.update { $0 = other }
                        // Release, then close the old file and reuse its number in one step (dup2), so that no
                        // other thread of the test process can take the number in between.
                        reactor.release(numbers[other])
                        let moved = dup2(replacements[other].first, numbers[other])
                        precondition(moved == numbers[other], "dup2 failed: errno \(errno)")
                        _ = Glibc.close(replacements[other].first)
                        reactor.adopt(numbers[other], successors[other])
                        do { try reactor.watch(numbers[other], .readable) } catch { preconditionFailure("\(error)") }
                    }
                }
                try await onLoop(reactor) {
                    for index in 0..<2 {
                        reactor.adopt(numbers[index], originals[index])
                        try reactor.watch(numbers[index], .readable)
                    }
                }
                // Both writes happen while the loop runs this body, not while it waits: its next wait returns both.
                try await onLoop(reactor) {
                    try writeAll(pairs[0].second, "zero")
                    try writeAll(pairs[1].second, "one")
                }
                try await waitUntil("a source replaced the other's descriptor") { replaced.value != nil }
                try await onLoop(reactor) {}  // a barrier: queued now, it runs after the batch that held both events
                let closed = try #require(replaced.value)
                let kept = 1 - closed
                #expect(originals[kept].events == 1, "\(log.value)")
                #expect(originals[closed].events == 0, "the closed descriptor's source got an event: \(log.value)")
                #expect(successors[closed].events == 0, "the new source got the old socket's event: \(log.value)")
                // The new socket's own events reach the new source.
                try writeAll(replacements[closed].second, "for the successor")
                try await waitUntil("the successor has read its bytes") {
                    successors[closed].received == "for the successor"
                }
                #expect(originals[closed].events == 0)
                try await onLoop(reactor) { numbers.forEach(reactor.releaseOpen) }
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
