import Testing

@testable import UDSKit

/// The reactor's timer heap on its own: no reactor, no clock waits, just deadlines.
@Suite struct TimerHeapTests {
    /// Pops every due timer at `now` and returns the labels their bodies append, in order.
    private func popAll(_ heap: inout TimerHeap, at now: ContinuousClock.Instant, into fired: Shared<[Int]>) -> [Int] {
        while let body = heap.popDue(at: now) { body() }
        return fired.value
    }

    @Test func randomInsertsPopInDeadlineOrderAndTiesInInsertionOrder() {
        var generator = SystemRandomNumberGenerator()
        let base = ContinuousClock.now
        for round in 0..<20 {
            var heap = TimerHeap()
            let fired = Shared<[Int]>([])
            // Few distinct deadlines among many timers, so that ties are common.
            let count = Int.random(in: 1...500, using: &generator)
            let offsets = (0..<count).map { _ in Int.random(in: 0..<(round % 2 == 0 ? 20 : 100_000), using: &generator)
            }
            for (index, offset) in offsets.enumerated() {
                heap.insert(deadline: base + .milliseconds(offset)) { fired.update { $0.append(index) } }
            }
            #expect(heap.count == count)
            #expect(heap.nextDeadline == base + .milliseconds(offsets.min()!))
            let order = popAll(&heap, at: base + .seconds(1000), into: fired)
            // The stable sort by deadline: equal deadlines keep the order they were inserted in.
            let expected = offsets.enumerated().sorted { ($0.element, $0.offset) < ($1.element, $1.offset) }.map(
                \.offset)
            #expect(order == expected, "round \(round): \(count) timers")
            #expect(heap.isEmpty)
            #expect(heap.nextDeadline == nil)
        }
    }

    @Test func onlyDueTimersPop() {
        var heap = TimerHeap()
        let base = ContinuousClock.now
        let fired = Shared<[Int]>([])
        for offset in [30, 10, 20, 40] {
            heap.insert(deadline: base + .milliseconds(offset)) { fired.update { $0.append(offset) } }
        }
        #expect(heap.popDue(at: base + .milliseconds(9)) == nil)
        #expect(popAll(&heap, at: base + .milliseconds(20), into: fired) == [10, 20])
        #expect(heap.count == 2)
        #expect(heap.nextDeadline == base + .milliseconds(30))
        // Timers inserted between pops still come out in order.
        heap.insert(deadline: base + .milliseconds(25)) { fired.update { $0.append(25) } }
        heap.insert(deadline: base + .milliseconds(35)) { fired.update { $0.append(35) } }
        #expect(heap.nextDeadline == base + .milliseconds(25))
        #expect(popAll(&heap, at: base + .milliseconds(100), into: fired) == [10, 20, 25, 30, 35, 40])
    }

    @Test func interleavedInsertsAndPopsMatchASortedList() {
        var generator = SystemRandomNumberGenerator()
        let base = ContinuousClock.now
        var heap = TimerHeap()
        let fired = Shared<[Int]>([])
        var model: [(offset: Int, label: Int)] = []  // kept sorted by (offset, insertion)
        var now = 0
        var label = 0
        var expected: [Int] = []
        for _ in 0..<2000 {
            if Bool.random(using: &generator) || model.isEmpty {
                let offset = now + Int.random(in: 0..<50, using: &generator)
                let this = label
                label += 1
                heap.insert(deadline: base + .milliseconds(offset)) { fired.update { $0.append(this) } }
                let index = model.firstIndex { $0.offset > offset } ?? model.count
                model.insert((offset, this), at: index)
            } else {
                now += Int.random(in: 0..<10, using: &generator)
                while let body = heap.popDue(at: base + .milliseconds(now)) { body() }
                while let first = model.first, first.offset <= now { expected.append(model.removeFirst().label) }
                #expect(fired.value == expected)
                #expect(heap.count == model.count)
            }
        }
    }
}
