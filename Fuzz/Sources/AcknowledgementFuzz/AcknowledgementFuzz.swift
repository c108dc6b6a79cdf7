import FuzzSupport
import UDSKit

/// libFuzzer's entry point: the input is a reply from the server.
///
/// Traps unless `byteCount(in:)` agrees with a plain reading of the format (1 to 19 ASCII digits, then `"\n"`, a
/// value that fits `Int`), a count it accepts as `n` is `"\(n)\n"` once leading zeros are dropped (UDSKitTests'
/// `byteCountAcceptsLeadingZeros` makes `"007\n"` a 7), an error reply's reason rebuilds the reply, and a count read
/// from the input's first 8 bytes survives `reply(forByteCount:)` and back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let reply = Message(bytes: input)
    let text = reply.string

    let count = Acknowledgement.byteCount(in: reply)
    let expected = referenceByteCount(Array(input))
    invariant(count == expected, "byteCount(in: \(text.debugDescription)) is \(count as Any), not \(expected as Any)")
    if let count {
        let canonical = Acknowledgement.reply(forByteCount: count).string
        var digits = text.dropLast().drop { $0 == "0" }
        if digits.isEmpty { digits = "0" }
        invariant(
            canonical == digits + "\n",
            "byteCount(in: \(text.debugDescription)) is \(count), whose reply is \(canonical.debugDescription)")
    }

    if let reason = Acknowledgement.errorReason(in: reply) {
        invariant(
            text.hasPrefix(Acknowledgement.errorPrefix), "errorReason(in: \(text.debugDescription)) without the prefix")
        let rebuilt = Acknowledgement.errorReply(reason).string
        invariant(
            rebuilt == text || rebuilt == text + "\n",
            "errorReason(in: \(text.debugDescription)) is \(reason.debugDescription)")
    }

    if size >= 8 {
        let count = Int(input[..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } & UInt64(Int.max))
        let decoded = Acknowledgement.byteCount(in: Acknowledgement.reply(forByteCount: count))
        invariant(decoded == count, "reply(forByteCount: \(count)) reads back as \(decoded as Any)")
    }
    return 0
}

/// The acknowledgement format read literally: 1 to 19 ASCII digits, then `"\n"`, and a value that fits `Int`.
func referenceByteCount(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 2, bytes.count <= 20, bytes.last == UInt8(ascii: "\n") else { return nil }
    var value = 0
    for byte in bytes.dropLast() {
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
        guard !overflow1, !overflow2 else { return nil }
        value = sum
    }
    return value
}
