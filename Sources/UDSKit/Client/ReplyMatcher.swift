import NIOCore

/// Matches the frames a framed client reads to the requests it wrote, oldest first: a request takes one frame, a
/// batch as many frames as it had requests, and a frame while nothing waits is the server's own (pushed).
///
/// A value the connection owns on the reactor. Its per-frame work is a counter and, for a batch, an append: the
/// state of the oldest request is kept apart from the queue, so that a frame copies no queue entry.
struct ReplyMatcher {
    /// What a frame from the server is for.
    enum Outcome {
        /// Nothing waits for it: the server pushed it.
        case pushed
        /// A reply that completes nothing yet, or the reply to a request that gave up.
        case absorbed
        /// The reply to request `id`.
        case reply(id: Int, CheckedContinuation<Message, any Error>, Message)
        /// The last reply to batch `id`, and all of them in order.
        case batch(id: Int, CheckedContinuation<[Message], any Error>, [Message])
        /// The last reply to a request `id` that gave up.
        case dropped(id: Int)
    }

    private struct Pending {
        let id: Int
        var waiter: RequestQueue.Waiter?
        var replies: Int
    }
    /// Requests written whose replies have not all come, oldest first from `first`; one that gave up (timed out,
    /// cancelled) stays without its waiter, so that its late replies are recognised and dropped.
    private var waiting: [Pending] = []
    private var first = 0
    /// Replies the oldest request still expects; 0 when none waits.
    private var oldestLeft = 0
    /// Whether the oldest request's replies are gathered: it is a batch still waited for.
    private var gathers = false
    /// The gathered replies: their payloads back to back in one buffer, which the batch's messages then share as
    /// slices (one allocation for the batch, not one per reply).
    private var gathered = ByteBuffer()
    private var lengths: [Int] = []

    /// Whether a request waits for a reply.
    var isWaiting: Bool { oldestLeft > 0 }

    /// Expects the replies for `waiter`, after those of every request before it.
    mutating func expect(_ waiter: RequestQueue.Waiter) {
        waiting.append(Pending(id: waiter.id, waiter: waiter, replies: waiter.replies))
        if waiting.count - first == 1 { startOldest() }
    }

    /// Takes a frame that only adds to the oldest batch, not its last reply, and returns true; false for any other
    /// frame, which ``match(_:)`` then takes. The per-frame path of a batch, with no ``Outcome`` to build.
    @inline(__always)
    mutating func gather(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard gathers, oldestLeft > 1 else { return false }
        oldestLeft -= 1
        if lengths.isEmpty { gathered.reserveCapacity((oldestLeft + 1) * payload.count) }
        gathered.writeBytes(payload)
        lengths.append(payload.count)
        return true
    }

    /// Takes one frame from the server.
    mutating func match(_ payload: UnsafeRawBufferPointer) -> Outcome {
        guard oldestLeft > 0 else { return .pushed }
        oldestLeft -= 1
        if gathers {
            if lengths.isEmpty { gathered.reserveCapacity((oldestLeft + 1) * payload.count) }
            gathered.writeBytes(payload)
            lengths.append(payload.count)
        }
        guard oldestLeft == 0 else { return .absorbed }
        let oldest = waiting[first]
        finishOldest()
        switch oldest.waiter?.reply {
        case .one(let continuation)?:
            return .reply(id: oldest.id, continuation, Message(buffer: ByteBuffer(bytes: payload)))
        case .batch(let continuation, _)?:
            var replies: [Message] = []
            replies.reserveCapacity(lengths.count)
            for length in lengths { replies.append(Message(buffer: gathered.readSlice(length: length)!)) }
            endGathering()
            return .batch(id: oldest.id, continuation, replies)
        case nil:
            return .dropped(id: oldest.id)
        }
    }

    /// Request `id` gives up: returns its waiter, to fail, if it still waits; its replies will be dropped.
    mutating func giveUp(_ id: Int) -> RequestQueue.Waiter? {
        guard let index = waiting[first...].firstIndex(where: { $0.id == id }), let waiter = waiting[index].waiter
        else { return nil }
        waiting[index].waiter = nil
        if index == first {
            gathers = false
            endGathering()
        }
        return waiter
    }

    /// Forgets every request; returns the waiters, to fail.
    mutating func removeAll() -> [RequestQueue.Waiter] {
        let waiters = waiting[first...].compactMap(\.waiter)
        waiting = []
        first = 0
        oldestLeft = 0
        gathers = false
        endGathering()
        return waiters
    }

    private mutating func finishOldest() {
        first += 1
        if first == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            first = 0
        } else {
            startOldest()
        }
    }

    private mutating func startOldest() {
        let oldest = waiting[first]
        oldestLeft = oldest.replies
        if case .batch? = oldest.waiter?.reply { gathers = true } else { gathers = false }
    }

    /// A fresh buffer, as the last batch's messages share the old one.
    private mutating func endGathering() {
        guard !lengths.isEmpty else { return }
        gathered = ByteBuffer()
        lengths.removeAll(keepingCapacity: true)
    }
}
