import FuzzSupport
import UDSKit

/// Size limits to pick from with the input's first byte; `nil` is no limit, -1 refuses even an empty message.
let limits: [Int?] = [nil, -1, 0, 1, 7, 64, 1_000, Int.max]

/// libFuzzer's entry point. Byte 0 picks the limit (low bits) and whether bytes are kept (bit 7), byte 1 how the
/// stream is split; the rest is the stream.
///
/// Traps unless `count` is the sum of the chunks fed, `feed` throws `.messageTooLarge` exactly when that sum
/// first passes the limit, and `finish()` returns exactly the bytes fed (when kept and within the limit) or nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let limit = limits[Int(input[0] & 0x7F) % limits.count]
    let keepsBytes = input[0] & 0x80 != 0
    let stream = UnsafeRawBufferPointer(rebasing: input[2...])

    var reader = EndOfStreamReader(maximumSize: limit, keepsBytes: keepsBytes)
    invariant(
        reader.maximumSize == limit,
        "maximumSize \(String(describing: reader.maximumSize)) != \(String(describing: limit))")
    var sum = 0
    var threw = false
    forEachChunk(of: stream, seed: input[1]) { chunk in
        guard !threw else { return }
        sum += chunk.count
        let passesLimit = limit.map { sum > $0 } ?? false
        do {
            try reader.feed(chunk)
            invariant(!passesLimit, "feed accepted \(sum) bytes, limit \(limit!)")
        } catch {
            guard let error = error as? UnixSocketError else { return invariant(false, "feed threw \(error)") }
            invariant(passesLimit, "feed threw \(error) at \(sum) bytes, limit \(String(describing: limit))")
            invariant(error.code == .messageTooLarge, "feed threw \(error), not .messageTooLarge")
            threw = true
        }
        invariant(reader.count == sum, "count \(reader.count) != \(sum) bytes fed")
    }
    let message = reader.finish()
    if keepsBytes && !threw {
        invariant(message.bytes.elementsEqual(stream), "finish() gave \(message.count) bytes, not the \(sum) fed")
    } else {
        invariant(message.count == 0, "finish() gave \(message.count) bytes (keepsBytes \(keepsBytes), threw \(threw))")
    }
    return 0
}
