import NIOCore

/// Matches the frames a framed client reads to the requests it wrote, oldest first: a request takes one frame, a
/// batch as many frames as it had requests, and a frame while nothing waits is the server's own (pushed).
///
/// A value the connection owns on the reactor. Its per-frame work is a counter and, for a batch, an offset: the
/// state of the oldest request is kept apart from the queue, so that a frame copies no queue entry, and a batch's
/// replies are copied in runs, not one by one.
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
        case batch(id: Int, CheckedContinuation<FrameBatch, any Error>, FrameBatch)
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
    /// The gathered replies as length-prefixed frames, the ``FrameBatch`` they become, and where each one ends
    /// there (counting the run not yet copied).
    private var gathered = FrameBytes()
    private var gatheredEnds: [Int] = []
    /// Whole frames in the current read, in their wire form, not yet copied to `gathered`: consecutive ones are
    /// copied in one piece when the run ends (``endOfRead(_:)``, or the batch's last reply).
    private var run: Range<Int>?
    /// Whether the reader's wire form is the batch's (a length-prefixed stream), so that runs are copied as they are.
    private let copiesRuns: Bool

    /// A matcher for a reader whose frames are length-prefixed on the wire when `copiesRuns` (see ``FrameBatch``).
    init(copiesRuns: Bool) { self.copiesRuns = copiesRuns }

    /// An empty matcher to swap in while the real one is moved out (see ``FramedClientSource``): shared, so that the
    /// swap allocates nothing.
    static let vacant = ReplyMatcher(copiesRuns: false)

    /// Whether a request waits for a reply.
    var isWaiting: Bool { oldestLeft > 0 }

    /// Expects the replies for `waiter`, after those of every request before it.
    mutating func expect(_ waiter: RequestQueue.Waiter) {
        waiting.append(Pending(id: waiter.id, waiter: waiter, replies: waiter.replies))
        if waiting.count - first == 1 { startOldest() }
    }

    /// Takes a frame that only adds to the oldest batch, not its last reply, and returns true; false for any other
    /// frame, which ``match(_:wire:in:)`` then takes. The per-frame path of a batch, with no ``Outcome`` to build.
    ///
    /// - Parameters: as ``match(_:wire:in:)``.
    @inline(__always)
    mutating func gather(_ payload: UnsafeRawBufferPointer, wire: Range<Int>?, in bytes: UnsafeRawBufferPointer)
        -> Bool
    {
        guard gathers, oldestLeft > 1 else { return false }
        oldestLeft -= 1
        add(payload, wire: wire, in: bytes)
        return true
    }

    /// Takes the whole frames at `start` in `bytes` that only add to the oldest batch (not its last reply) in one
    /// run, and returns how many bytes they are: 0 when no batch is being gathered or no such frame is whole there.
    /// The per-read path of a batch's replies on a length-prefixed stream: one header load per frame.
    ///
    /// - Parameters: `bytes` as in ``match(_:wire:in:)``; `maximumFrameSize`, past which a frame is left to the
    ///   decoder, which refuses it.
    mutating func gatherRun(in bytes: UnsafeRawBufferPointer, at start: Int, maximumFrameSize: Int) -> Int {
        guard copiesRuns, gathers, oldestLeft > 1 else { return 0 }
        let base = gatheredBytes - start  // where a frame ending at offset e of `bytes` ends in the batch, less e
        var end = start
        var taken = 0
        while taken < oldestLeft - 1, bytes.count - end >= FrameDecoder.headerSize {
            let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: end, as: UInt32.self)))
            guard length <= maximumFrameSize, bytes.count - end - FrameDecoder.headerSize >= length else { break }
            if gatheredEnds.isEmpty { reserve(oldestLeft, bytes: FrameDecoder.headerSize + length) }
            end += FrameDecoder.headerSize + length
            gatheredEnds.append(base + end)
            taken += 1
        }
        guard taken > 0 else { return 0 }
        oldestLeft -= taken
        extendRun(start..<end, in: bytes)
        return end - start
    }

    /// Takes one frame from the server.
    ///
    /// - Parameters:
    ///   - payload: The frame's payload.
    ///   - wire: Where the whole frame lies in `bytes`, in wire form; `nil` when it was gathered from earlier reads.
    ///   - bytes: The read the frame came in, which stays valid until ``endOfRead(_:)``.
    mutating func match(_ payload: UnsafeRawBufferPointer, wire: Range<Int>?, in bytes: UnsafeRawBufferPointer)
        -> Outcome
    {
        guard oldestLeft > 0 else { return .pushed }
        oldestLeft -= 1
        if gathers { add(payload, wire: wire, in: bytes) }
        guard oldestLeft == 0 else { return .absorbed }
        let oldest = waiting[first]
        finishOldest()
        switch oldest.waiter?.reply {
        case .one(let continuation)?:
            return .reply(id: oldest.id, continuation, Message(buffer: ByteBuffer(bytes: payload)))
        case .batch(let continuation, _)?:
            endOfRead(bytes)
            let batch = FrameBatch(wire: gathered, ends: gatheredEnds)
            endGathering()
            return .batch(id: oldest.id, continuation, batch)
        case nil:
            return .dropped(id: oldest.id)
        }
    }

    /// The read `bytes` is done with: copies the run of frames gathered from it.
    mutating func endOfRead(_ bytes: UnsafeRawBufferPointer) {
        guard let whole = run else { return }
        gathered.append(UnsafeRawBufferPointer(rebasing: bytes[whole]))
        run = nil
    }

    /// Adds a frame to the batch being gathered: to the run when it follows it in the read, else as its own frame.
    @inline(__always)
    private mutating func add(_ payload: UnsafeRawBufferPointer, wire: Range<Int>?, in bytes: UnsafeRawBufferPointer) {
        if gatheredEnds.isEmpty { reserve(oldestLeft + 1, bytes: payload.count + FrameDecoder.headerSize) }
        gatheredEnds.append(gatheredBytes + FrameDecoder.headerSize + payload.count)
        if copiesRuns, let wire { return extendRun(wire, in: bytes) }
        endOfRead(bytes)
        gathered.appendFrame(payload)
    }

    /// The bytes gathered so far, the run not yet copied included.
    private var gatheredBytes: Int { gathered.count + (run?.count ?? 0) }

    /// Makes room for `count` replies of about `bytes` bytes each, up to 16 MiB: a batch's replies are most often
    /// the size of the first, but a server's large first reply does not reserve its size times the batch's count.
    private mutating func reserve(_ count: Int, bytes: Int) {
        gathered.reserveCapacity(min(count * bytes, 16 << 20))
        gatheredEnds.reserveCapacity(count)
    }

    /// Adds whole frames in wire form to the run when they follow it in the read; else copies the run and starts anew.
    @inline(__always)
    private mutating func extendRun(_ frames: Range<Int>, in bytes: UnsafeRawBufferPointer) {
        if let whole = run, whole.upperBound == frames.lowerBound {
            run = whole.lowerBound..<frames.upperBound
            return
        }
        endOfRead(bytes)
        run = frames
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

    /// A fresh buffer, as the last batch shares the old one.
    private mutating func endGathering() {
        run = nil
        guard !gatheredEnds.isEmpty else { return }
        gathered = FrameBytes()
        gatheredEnds = []
    }
}
