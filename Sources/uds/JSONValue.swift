/// A JSON value, written by hand for `uds bench --json` so that `uds` needs no Foundation (`JSONSerialization`).
enum JSONValue {
    case string(String)
    case integer(Int)
    case number(Double)
    case object([String: JSONValue])

    /// The value as compact JSON text, object keys sorted; a number that is not finite is written as `null`.
    var text: String {
        switch self {
        case .string(let string): return Self.quoted(string)
        case .integer(let integer): return String(integer)
        case .number(let number): return number.isFinite ? "\(number)" : "null"
        case .object(let members):
            let fields = members.keys.sorted().map { Self.quoted($0) + ":" + members[$0]!.text }
            return "{" + fields.joined(separator: ",") + "}"
        }
    }

    /// `string` in double quotes, with the escapes RFC 8259 requires (and `\/`).
    static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "/": result += "\\/"  // as JSONSerialization wrote it, so that the output did not change
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
