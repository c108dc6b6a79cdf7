import Synchronization
import Testing
import UDSKit

@testable import UDSKit

/// `FrameBursts`, the hand-over of a read's frames at a time to a `FramedHandler.bursts` connection's task: order,
/// the end after what is pending, and the backpressure that stops the reactor reading.
@Suite("FrameBursts")
struct FrameBurstsTests {
    private func frames(_ payloads: [String]) -> FrameBatch { FrameBatch(payloads.map { Message($0) }) }

    private func strings(_ batch: FrameBatch?) -> [String] {
        guard let batch else { return [] }
        return batch.indices.map { index in
            var payload = ""
            batch.withPayload(at: index) { payload = String(decoding: $0, as: UTF8.self) }
            return payload
        }
    }

    @Test func framesDeliveredWhileTheTaskIsBusyComeInOneBatchInOrder() async throws {
        let bursts = FrameBursts(resume: {})
        #expect(bursts.deliver(frames(["a", "b"])))
        #expect(bursts.deliver(frames(["", "c"])))
        #expect(strings(try await bursts.next()) == ["a", "b", "", "c"])
        bursts.finish()
        #expect(try await bursts.next() == nil)
    }

    @Test func aWaitingTaskGetsTheNextReadAndTheEndAfterIt() async throws {
        let bursts = FrameBursts(resume: {})
        let taken = Task { try await bursts.next() }
        // The task may not be waiting yet: either way it gets exactly this read.
        #expect(bursts.deliver(frames(["x"])))
        #expect(strings(try await taken.value) == ["x"])
        let end = Task { try await bursts.next() }
        bursts.finish()
        #expect(try await end.value == nil)
    }

    @Test func pendingFramesComeBeforeTheErrorThatEndedTheInput() async throws {
        struct Bad: Error {}
        let bursts = FrameBursts(resume: {})
        #expect(bursts.deliver(frames(["before"])))
        bursts.finish(Bad())
        bursts.finish()  // only the first end counts
        #expect(strings(try await bursts.next()) == ["before"])
        await #expect(throws: Bad.self) { try await bursts.next() }
    }

    @Test func aTaskThatFallsBehindStopsTheReadsUntilItTakesTheFrames() async throws {
        let resumed = Atomic<Int>(0)
        let bursts = FrameBursts(resume: { resumed.add(1, ordering: .relaxed) })
        let call = String(repeating: "c", count: 1000)
        var delivered = 0
        while bursts.deliver(frames([call])) {
            delivered += 1
            try #require(delivered < 1000, "the reads never stop")
        }
        // Stopped at the limit (each frame 1,004 bytes with its header), not before.
        #expect((delivered + 1) * 1004 >= FrameBursts.limit)
        #expect(delivered * 1004 < FrameBursts.limit)
        #expect(resumed.load(ordering: .relaxed) == 0)
        #expect(try await bursts.next()?.count == delivered + 1)
        #expect(resumed.load(ordering: .relaxed) == 1)
        // Under the limit again: no resume is asked for.
        #expect(bursts.deliver(frames(["small"])))
        #expect(strings(try await bursts.next()) == ["small"])
        #expect(resumed.load(ordering: .relaxed) == 1)
    }

    @Test func batchesAppendWithTheirFramesWhole() {
        var batch = frames(["one", ""])
        batch.append(contentsOf: frames(["three", "4"]))
        batch.append(contentsOf: FrameBatch())
        #expect(strings(batch) == ["one", "", "three", "4"])
        #expect(batch == frames(["one", "", "three", "4"]))
    }
}
