/// The reactor's timers: a binary min-heap by deadline, so the next timeout is the root and a due timer leaves in
/// O(log n), however many connections have one (NIO keeps its scheduled tasks in a `PriorityQueue` the same way).
struct TimerHeap {
    private struct Entry {
        let deadline: ContinuousClock.Instant
        /// Ties run in the order they were scheduled.
        let sequence: UInt64
        let body: () -> Void

        func precedes(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }
    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The earliest deadline, if any timer is set.
    var nextDeadline: ContinuousClock.Instant? { entries.first?.deadline }

    mutating func insert(deadline: ContinuousClock.Instant, _ body: @escaping () -> Void) {
        nextSequence &+= 1
        entries.append(Entry(deadline: deadline, sequence: nextSequence, body: body))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the body of the earliest timer if it is due at `now`.
    mutating func popDue(at now: ContinuousClock.Instant) -> (() -> Void)? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(from: 0)
        }
        return first.body
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count && entries[left].precedes(entries[smallest]) { smallest = left }
            if right < entries.count && entries[right].precedes(entries[smallest]) { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
