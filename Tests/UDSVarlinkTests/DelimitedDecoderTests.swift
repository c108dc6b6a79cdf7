import NIOCore
import Testing
import UDSKit

@Suite("Varlink codec: NUL-delimited messages in, messages out")
struct DelimitedDecoderTests {
    /// Messages of assorted sizes, the empty one included, and their encoding as one stream.
    static let messages: [[UInt8]] = [
        Array(#"{"method":"org.example.ping.Ping"}"#.utf8), [], [0x7B, 0x7D], Array(repeating: 0x61, count: 300), [1],
    ]
    static var stream: [UInt8] {
        var buffer = ByteBuffer()
        for message in messages { message.withUnsafeBytes { Framing.delimited(0).append($0, to: &buffer) } }
        return Array(buffer.readableBytesView)
    }

    private func decode(_ chunks: [ArraySlice<UInt8>], limit: Int = 1 << 20) throws -> [[UInt8]] {
        var decoder = DelimitedDecoder(delimiter: 0, maximumMessageSize: limit)
        var messages: [[UInt8]] = []
        for chunk in chunks {
            try Array(chunk).withUnsafeBytes { raw in try decoder.feed(raw) { messages.append(Array($0)) } }
        }
        #expect(!decoder.hasPartialMessage)
        return messages
    }

    /// The search for the delimiter goes eight bytes at a time: a delimiter at every offset of a word and past it,
    /// among the bytes that sit next to it in value (which a word-wide search could mistake for it), is found.
    @Test(arguments: [UInt8(0), 0x0A, 0x7F, 0x80, 0xFF])
    func theDelimiterIsFoundAtEveryOffsetAmongItsNeighbours(delimiter: UInt8) throws {
        let neighbours = [delimiter &+ 1, delimiter &- 1, delimiter ^ 0x80, 0x01, 0x80, 0xFF, 0x00, 0x7F].filter {
            $0 != delimiter
        }
        for length in 0..<40 {
            let message = (0..<length).map { neighbours[$0 % neighbours.count] }
            var decoder = DelimitedDecoder(delimiter: delimiter, maximumMessageSize: 1 << 20)
            var found: [[UInt8]] = []
            try (message + [delimiter] + message).withUnsafeBytes { raw in
                try decoder.feed(raw) { found.append(Array($0)) }
            }
            #expect(found == [message], "delimiter \(delimiter), message of \(length) bytes")
            #expect(decoder.hasPartialMessage == (length > 0))
        }
    }

    @Test func wholeStreamInOneFeedDecodesEveryMessage() throws {
        #expect(try decode([Self.stream[...]]) == Self.messages)
    }

    @Test func splittingAtEveryByteBoundaryDecodesTheSame() throws {
        let stream = Self.stream
        for split in 0...stream.count {
            #expect(try decode([stream[..<split], stream[split...]]) == Self.messages, "split at \(split)")
        }
    }

    @Test func feedingOneByteAtATimeDecodesTheSame() throws {
        #expect(try decode(Self.stream.map { [$0][...] }) == Self.messages)
    }

    @Test func splittingAtEveryPairOfBoundariesDecodesTheSame() throws {
        let stream = Self.stream
        for first in stride(from: 0, through: stream.count, by: 3) {
            for second in stride(from: first, through: stream.count, by: 7) {
                #expect(try decode([stream[..<first], stream[first..<second], stream[second...]]) == Self.messages)
            }
        }
    }

    @Test func manyMessagesCoalescedInOneReadAllComeOut() throws {
        var buffer = ByteBuffer()
        for index in 0..<10_000 {
            Array("\(index)".utf8).withUnsafeBytes { Framing.delimited(0).append($0, to: &buffer) }
        }
        let messages = try decode([Array(buffer.readableBytesView)[...]])
        #expect(messages.count == 10_000)
        #expect(messages.enumerated().allSatisfy { String(decoding: $0.element, as: UTF8.self) == "\($0.offset)" })
    }

    @Test func aMessageAtTheLimitPassesAndOneByteMoreIsRefused() throws {
        let atLimit = Array(repeating: UInt8(0x20), count: 64) + [0]
        #expect(try decode([atLimit[...]], limit: 64).count == 1)
        var decoder = DelimitedDecoder(delimiter: 0, maximumMessageSize: 64)
        let over = Array(repeating: UInt8(0x20), count: 65) + [0]
        #expect(throws: FrameError.self) { try over.withUnsafeBytes { try decoder.feed($0) { _ in } } }
    }

    @Test func bytesWithoutADelimiterPastTheLimitAreRefusedBeforeTheyAllCome() throws {
        // A peer that never sends a NUL is stopped at the limit, not buffered without bound.
        var decoder = DelimitedDecoder(delimiter: 0, maximumMessageSize: 100)
        let chunk = Array(repeating: UInt8(0x41), count: 40)
        try chunk.withUnsafeBytes { try decoder.feed($0) { _ in Issue.record("no message yet") } }
        try chunk.withUnsafeBytes { try decoder.feed($0) { _ in Issue.record("no message yet") } }
        #expect(decoder.hasPartialMessage)
        #expect(throws: FrameError.self) { try chunk.withUnsafeBytes { try decoder.feed($0) { _ in } } }
    }

    @Test func messagesBeforeAnOversizeOneAreDelivered() throws {
        var decoder = DelimitedDecoder(delimiter: 0, maximumMessageSize: 8)
        let bytes = Array("ok\0".utf8) + Array(repeating: UInt8(0x42), count: 20) + [0]
        var delivered: [String] = []
        #expect(throws: FrameError.self) {
            try bytes.withUnsafeBytes { try decoder.feed($0) { delivered.append(String(decoding: $0, as: UTF8.self)) } }
        }
        #expect(delivered == ["ok"])
    }

    @Test func randomSplitsOfRandomMessagesDecodeTheSame() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let messages = (0..<Int.random(in: 1...20, using: &generator)).map { _ in
                (0..<Int.random(in: 0...50, using: &generator)).map { _ in UInt8.random(in: 1...255, using: &generator)
                }
            }
            let stream: [UInt8] = messages.flatMap { $0 + [0] }
            var chunks: [ArraySlice<UInt8>] = []
            var start = 0
            while start < stream.count {
                let end = min(stream.count, start + Int.random(in: 1...17, using: &generator))
                chunks.append(stream[start..<end])
                start = end
            }
            #expect(try decode(chunks) == messages)
        }
    }
}
