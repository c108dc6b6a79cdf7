import NIOCore
import Testing
import UDSKit

@Suite("FrameDecoder: bytes in, frames out")
struct FrameDecoderTests {
    /// Frames of assorted sizes, 0 included, and their encoding as one stream.
    static let payloads: [[UInt8]] = [[], [1], Array(0..<7), Array(repeating: 0xAB, count: 300), [0, 0, 0, 4]]
    static var stream: [UInt8] {
        var buffer = ByteBuffer()
        for payload in payloads { payload.withUnsafeBytes { FrameEncoder.append($0, to: &buffer) } }
        return Array(buffer.readableBytesView)
    }

    private func decode(_ chunks: [ArraySlice<UInt8>], limit: Int = 1 << 20) throws -> [[UInt8]] {
        var decoder = FrameDecoder(maximumFrameSize: limit)
        var frames: [[UInt8]] = []
        for chunk in chunks {
            try Array(chunk).withUnsafeBytes { raw in try decoder.feed(raw) { frames.append(Array($0)) } }
        }
        #expect(!decoder.hasPartialFrame)
        return frames
    }

    @Test func wholeStreamInOneFeedDecodesEveryFrame() throws {
        #expect(try decode([Self.stream[...]]) == Self.payloads)
    }

    @Test func splittingAtEveryByteBoundaryDecodesTheSame() throws {
        let stream = Self.stream
        for split in 0...stream.count {
            #expect(try decode([stream[..<split], stream[split...]]) == Self.payloads, "split at \(split)")
        }
    }

    @Test func feedingOneByteAtATimeDecodesTheSame() throws {
        #expect(try decode(Self.stream.map { [$0][...] }) == Self.payloads)
    }

    @Test func splittingAtEveryPairOfBoundariesDecodesTheSame() throws {
        let stream = Self.stream
        for first in stride(from: 0, through: stream.count, by: 3) {
            for second in stride(from: first, through: stream.count, by: 5) {
                let chunks = [stream[..<first], stream[first..<second], stream[second...]]
                #expect(try decode(chunks) == Self.payloads)
            }
        }
    }

    @Test func manyFramesCoalescedInOneReadAllComeOut() throws {
        var buffer = ByteBuffer()
        for index in 0..<10_000 { [UInt8(index & 0xFF)].withUnsafeBytes { FrameEncoder.append($0, to: &buffer) } }
        let frames = try decode([Array(buffer.readableBytesView)[...]])
        #expect(frames.count == 10_000)
        #expect(frames.enumerated().allSatisfy { $0.element == [UInt8($0.offset & 0xFF)] })
    }

    @Test func aLengthPastTheLimitIsRefusedAtTheHeader() throws {
        var decoder = FrameDecoder(maximumFrameSize: 100)
        let header: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: FrameError(.frameTooLarge, length: 0xFFFF_FFFF, limit: 100)) {
            try header.withUnsafeBytes { try decoder.feed($0) { _ in } }
        }
        var split = FrameDecoder(maximumFrameSize: 100)
        // Half a header: nothing known yet.
        try ([0x00, 0x00] as [UInt8]).withUnsafeBytes { try split.feed($0) { _ in } }
        #expect(throws: FrameError.self) {
            try ([0x01, 0x00] as [UInt8]).withUnsafeBytes { try split.feed($0) { _ in } }
        }
    }

    @Test func aFrameCutShortIsPartial() throws {
        var decoder = FrameDecoder(maximumFrameSize: 100)
        try ([0, 0, 0, 10, 1, 2, 3] as [UInt8]).withUnsafeBytes {
            try decoder.feed($0) { _ in Issue.record("no frame yet") }
        }
        #expect(decoder.hasPartialFrame)
    }

    @Test func singleStepDecodingConsumesOneFrameAtATime() throws {
        var buffer = ByteBuffer(bytes: Self.stream)
        var frames: [[UInt8]] = []
        while let frame = try FrameDecoder.decodeFrame(from: &buffer, maximumFrameSize: 1 << 20) {
            frames.append(Array(frame.readableBytesView))
        }
        #expect(frames == Self.payloads)
        var partial = ByteBuffer(bytes: [0, 0, 0, 3, 9])
        #expect(try FrameDecoder.decodeFrame(from: &partial, maximumFrameSize: 10) == nil)
        #expect(partial.readableBytes == 5, "nothing is consumed until the frame is whole")
    }
}
