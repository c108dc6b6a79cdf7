import FuzzSupport
import NIOCore
import UDSKit

/// Frame limits to pick from with the input's second byte: the edges of the length field and of the header.
let limits = [0, 1, 3, 4, 16, 255, 65_536, Int(UInt32.max) - 1, Int(UInt32.max), Int.max]

/// libFuzzer's entry point. Byte 0 picks how the stream is split, byte 1 the frame limit; the rest is the stream.
///
/// Decodes the stream four ways (a plain reference decoder, `feed` whole, `feed` in chunks, `decodeFrame(from:)`
/// on a buffer that grows by the same chunks) and traps unless all four give the same frames, the same error and
/// the same leftover partial frame.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let seed = input[0]
    let limit = limits[Int(input[1]) % limits.count]
    let stream = UnsafeRawBufferPointer(rebasing: input[2...])

    let expected = referenceDecode(stream, limit: limit)
    for frame in expected.frames { invariant(frame.count <= limit, "reference frame of \(frame.count) > \(limit)") }
    let whole = decodeByFeeding(stream, seed: 0, limit: limit)
    invariant(whole == expected, "feed, whole: \(whole) != reference \(expected)")
    let chunked = decodeByFeeding(stream, seed: seed, limit: limit)
    invariant(chunked == expected, "feed, split by seed \(seed): \(chunked) != reference \(expected)")
    let singleStep = decodeSingleStep(stream, seed: seed, limit: limit)
    invariant(singleStep == expected, "decodeFrame(from:), split by seed \(seed): \(singleStep) != \(expected)")
    return 0
}

/// What decoding a stream gave.
struct Outcome: Equatable, CustomStringConvertible {
    var frames: [[UInt8]] = []
    /// The length and limit of a `.frameTooLarge` error, if one was thrown.
    var tooLarge: (length: Int, limit: Int)?
    /// Whether bytes of an unfinished frame were left over (only meaningful without an error).
    var hasPartialFrame = false

    static func == (a: Outcome, b: Outcome) -> Bool {
        a.frames == b.frames && a.tooLarge?.length == b.tooLarge?.length && a.tooLarge?.limit == b.tooLarge?.limit
            && (a.tooLarge != nil || a.hasPartialFrame == b.hasPartialFrame)
    }

    var description: String {
        let error = tooLarge.map { "frameTooLarge(\($0.length) > \($0.limit))" } ?? "no error"
        return "\(frames.count) frames \(frames.map(\.count)), \(error), partial: \(hasPartialFrame)"
    }
}

/// The wire format read literally: 4-byte big-endian length, payload; a length over `limit` ends the stream.
func referenceDecode(_ stream: UnsafeRawBufferPointer, limit: Int) -> Outcome {
    var outcome = Outcome()
    var offset = 0
    while stream.count - offset >= 4 {
        let length = stream[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        if length > limit {
            outcome.tooLarge = (length, limit)
            return outcome
        }
        guard stream.count - offset - 4 >= length else { break }
        outcome.frames.append(Array(stream[offset + 4..<offset + 4 + length]))
        offset += 4 + length
    }
    outcome.hasPartialFrame = offset < stream.count
    return outcome
}

/// Decodes with `FrameDecoder.feed`, the stream cut into chunks by `seed`; stops at the first error.
func decodeByFeeding(_ stream: UnsafeRawBufferPointer, seed: UInt8, limit: Int) -> Outcome {
    var decoder = FrameDecoder(maximumFrameSize: limit)
    var outcome = Outcome()
    do {
        try forEachChunk(of: stream, seed: seed) { chunk in
            try decoder.feed(chunk) { payload in
                invariant(payload.count <= limit, "feed delivered a frame of \(payload.count) > limit \(limit)")
                outcome.frames.append(Array(payload))
            }
        }
    } catch let error as FrameError {
        outcome.tooLarge = checked(error, limit: limit)
        return outcome
    } catch {
        fatalError("feed threw \(error), not a FrameError")
    }
    outcome.hasPartialFrame = decoder.hasPartialFrame
    return outcome
}

/// Decodes with `FrameDecoder.decodeFrame(from:maximumFrameSize:)` on a buffer that the chunks are appended to,
/// taking every whole frame after each chunk.
func decodeSingleStep(_ stream: UnsafeRawBufferPointer, seed: UInt8, limit: Int) -> Outcome {
    var buffer = ByteBuffer()
    var outcome = Outcome()
    var consumed = 0
    do {
        try forEachChunk(of: stream, seed: seed) { chunk in
            buffer.writeBytes(chunk)
            while true {
                let before = (buffer.readerIndex, buffer.readableBytes)
                guard let frame = try FrameDecoder.decodeFrame(from: &buffer, maximumFrameSize: limit) else {
                    let after = (buffer.readerIndex, buffer.readableBytes)
                    invariant(
                        before == after, "decodeFrame returned nil but moved the buffer from \(before) to \(after)")
                    break
                }
                invariant(frame.readableBytes <= limit, "decodeFrame gave a frame of \(frame.readableBytes) > \(limit)")
                let taken = buffer.readerIndex - before.0
                invariant(
                    taken == 4 + frame.readableBytes, "decodeFrame took \(taken) bytes for \(frame.readableBytes)")
                consumed += 4 + frame.readableBytes
                outcome.frames.append(Array(frame.readableBytesView))
            }
        }
    } catch let error as FrameError {
        outcome.tooLarge = checked(error, limit: limit)
        return outcome
    } catch {
        fatalError("decodeFrame threw \(error), not a FrameError")
    }
    // Every byte fed is either in a delivered frame (header and payload) or still waiting in the buffer.
    invariant(consumed + buffer.readableBytes == stream.count, "decodeFrame lost or invented bytes")
    outcome.hasPartialFrame = buffer.readableBytes > 0
    return outcome
}

/// Checks that `error` is `.frameTooLarge` for a length past `limit`, and returns its length and limit.
func checked(_ error: FrameError, limit: Int) -> (length: Int, limit: Int) {
    invariant(error.kind == .frameTooLarge, "unexpected FrameError kind: \(error)")
    guard let length = error.length, let errorLimit = error.limit else {
        fatalError("FrameError without numbers: \(error)")
    }
    invariant(errorLimit == limit, "FrameError names limit \(errorLimit), the decoder's is \(limit)")
    invariant(length > limit, "FrameError for a length \(length) within the limit \(limit)")
    return (length, errorLimit)
}
