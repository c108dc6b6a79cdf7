import FuzzSupport
import UDSKit

/// libFuzzer's entry point: the input is a reply from the server.
///
/// Traps unless a reply that `byteCount(in:)` accepts as `n` is exactly `"\(n)\n"`, an error reply's reason
/// rebuilds the reply, and a count read from the input's first 8 bytes survives `reply(forByteCount:)` and back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let reply = Message(bytes: input)

    if let count = Acknowledgement.byteCount(in: reply) {
        invariant(count >= 0, "byteCount(in: \(reply.string.debugDescription)) is negative: \(count)")
        let canonical = Acknowledgement.reply(forByteCount: count).string
        let text = reply.string
        invariant(
            canonical == text,
            "byteCount(in: \(text.debugDescription)) is \(count), but reply(forByteCount: \(count)) "
                + "is \(canonical.debugDescription)")
    }

    if let reason = Acknowledgement.errorReason(in: reply) {
        let text = reply.string
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
        invariant(decoded == count, "reply(forByteCount: \(count)) reads back as \(String(describing: decoded))")
    }
    return 0
}
