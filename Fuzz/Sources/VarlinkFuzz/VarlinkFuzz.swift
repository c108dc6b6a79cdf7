import FuzzSupport
import UDSKit
import UDSVarlink

/// Message limits to pick from with the input's second byte.
let limits = [0, 1, 16, 255, 65_536, Int.max]

/// An interface to validate parsed calls against. Parsed on every run rather than held in a global: Swift packs enum
/// tags into the spare bits of a global's box pointers, which LeakSanitizer then reports as a leak at exit.
let interfaceText = """
    interface org.example.fuzz
    type Point (x: int, y: float, label: ?string, kind: (a, b))
    method Call(points: []Point, tags: [string]string, set: [string](), any: object, maybe: ?[]?bool) -> ()
    """

/// libFuzzer's entry point. Byte 0 picks how the stream is split, byte 1 the message limit; the rest is the stream.
///
/// Splits the stream into NUL-delimited messages whole and in chunks (the same messages and the same error either
/// way, and as a plain reference split), parses each as a varlink call (its JSON must print and parse back to the
/// same value) and validates it; then parses the whole stream as IDL text. Traps on any disagreement; errors are
/// fine, crashes are not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let limit = limits[Int(input[1]) % limits.count]
    let stream = UnsafeRawBufferPointer(rebasing: input[2...])

    let expected = reference(stream, limit: limit)
    let whole = split(stream, seed: 0, limit: limit)
    invariant(whole.messages == expected.messages && whole.failed == expected.failed, "whole feed != reference")
    let chunked = split(stream, seed: input[0], limit: limit)
    invariant(chunked.messages == expected.messages && chunked.failed == expected.failed, "chunked feed != reference")

    let interface = try! VarlinkInterface(parsing: interfaceText)
    for message in expected.messages {
        message.withUnsafeBytes { raw in
            guard let call = try? VarlinkCallMessage(parsing: raw) else { return }
            // A call's members are parsed with the parameters (and unknown members) only skipped over: what that
            // takes must be JSON.
            invariant(
                (try? JSONValue(parsing: String(decoding: raw, as: UTF8.self))) != nil, "a call that is not JSON parsed")
            if let parameters = call.parameters {
                invariant((try? JSONValue(parsing: parameters.jsonText)) == parameters, "JSON does not round-trip")
            }
            if let method = interface.methods["Call"] { _ = try? interface.validate(parameters: call.parameters, ofMethod: method) }
        }
    }
    _ = try? VarlinkInterface(parsing: String(decoding: stream, as: UTF8.self))
    return 0
}

struct Outcome {
    var messages: [[UInt8]] = []
    var failed = false
}

/// The format read literally: messages end at each NUL; more than `limit` bytes before one is an error.
func reference(_ stream: UnsafeRawBufferPointer, limit: Int) -> Outcome {
    var outcome = Outcome()
    var current: [UInt8] = []
    for byte in stream {
        if byte == 0 {
            outcome.messages.append(current)
            current = []
        } else {
            current.append(byte)
            if current.count > limit {
                outcome.failed = true
                return outcome
            }
        }
    }
    return outcome
}

func split(_ stream: UnsafeRawBufferPointer, seed: UInt8, limit: Int) -> Outcome {
    var decoder = DelimitedDecoder(delimiter: 0, maximumMessageSize: limit)
    var outcome = Outcome()
    do {
        try forEachChunk(of: stream, seed: seed) { chunk in try decoder.feed(chunk) { outcome.messages.append(Array($0)) } }
    } catch {
        outcome.failed = true
    }
    return outcome
}
