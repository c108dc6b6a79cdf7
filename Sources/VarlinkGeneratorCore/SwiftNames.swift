/// How varlink names become Swift identifiers: `retry_after` → `retryAfter`, `org.example.ping` →
/// `OrgExamplePing`, Swift keywords in backticks (`` `default` ``), and names that even backticks cannot save
/// (`self`, `init`, `Type`) with a trailing underscore.
enum SwiftNames {
    /// Words that must be written in backticks to be a declaration's name.
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
        "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default",
        "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch",
        "where", "while", "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true",
        "try", "package", "consume", "copy", "discard", "borrowing", "consuming", "some", "any",
    ]

    /// Names that mean something else after a dot (`x.self`, `T.Type`, `x.init`) or that generated code needs:
    /// these get a trailing underscore instead of backticks.
    static let unusable: Set<String> = [
        "self", "Self", "init", "deinit", "subscript", "super", "Type", "Protocol", "Any", "hashValue", "_",
    ]

    /// The Swift name of struct field, enum case or parameter `name` (`retry_after` → `retryAfter`), as written
    /// in a declaration.
    static func memberName(_ name: String) -> String {
        let parts = name.split(separator: "_").map(String.init)
        guard let first = parts.first else { return "_" }
        return declared(lowerFirstWord(first) + parts.dropFirst().map(upperFirst).joined())
    }

    /// The Swift name of method `name` (`GetInfo` → `getInfo`, `URLGet` → `urlGet`), as written in a declaration.
    static func methodName(_ name: String) -> String { declared(lowerFirstWord(name)) }

    /// The Swift name of a type the IDL names (`MyType`), or of an anonymous one named after its field.
    static func typeName(_ name: String) -> String {
        let name = upperFirst(bare(name))
        return unusable.contains(name) || keywords.contains(name) || name == "Swift" || name == "UDSVarlink"
            ? name + "_" : name
    }

    /// The namespace of interface `name`: `org.example.ping` → `OrgExamplePing`, `org.example.my-app` →
    /// `OrgExampleMyApp`.
    static func namespaceName(_ interface: String) -> String {
        typeName(interface.split(whereSeparator: { $0 == "." || $0 == "-" }).map { upperFirst(String($0)) }.joined())
    }

    /// `identifier` as a declaration's name: in backticks if it is a keyword, with an underscore if it is unusable.
    static func declared(_ identifier: String) -> String {
        if unusable.contains(identifier) { return identifier + "_" }
        return keywords.contains(identifier) ? "`\(identifier)`" : identifier
    }

    /// `name` without backticks.
    static func bare(_ name: String) -> String {
        name.hasPrefix("`") && name.hasSuffix("`") ? String(name.dropFirst().dropLast()) : name
    }

    /// A Swift string literal of `text`: quotes, backslashes and control characters escaped.
    static func stringLiteral(_ text: String) -> String {
        var literal = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": literal += "\\\""
            case "\\": literal += "\\\\"
            case "\n": literal += "\\n"
            case "\t": literal += "\\t"
            case "\r": literal += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    literal += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    literal.unicodeScalars.append(scalar)
                }
            }
        }
        return literal + "\""
    }

    private static func upperFirst(_ word: String) -> String { word.prefix(1).uppercased() + word.dropFirst() }

    /// Lowercases the leading capital, or the leading acronym but the capital that starts the next word:
    /// `Ping` → `ping`, `URLGet` → `urlGet`, `URL` → `url`, `A1` → `a1`.
    private static func lowerFirstWord(_ word: String) -> String {
        let characters = Array(word)
        var capitals = 0
        while capitals < characters.count, characters[capitals].isUppercase { capitals += 1 }
        if capitals > 1, capitals < characters.count, characters[capitals].isLowercase { capitals -= 1 }
        return String(characters[..<capitals]).lowercased() + String(characters[capitals...])
    }
}

/// Swift names handed out in one scope, each once: a second `a_b` and `aB` gets `aB_`.
struct NameScope {
    private var taken: Set<String>

    init(reserved: Set<String> = []) { taken = reserved }

    /// `name`, or `name` with underscores appended until no other name in the scope is the same.
    mutating func claim(_ name: String) -> String {
        var bare = SwiftNames.bare(name)
        while taken.contains(bare) { bare += "_" }
        taken.insert(bare)
        return bare == SwiftNames.bare(name) ? name : SwiftNames.declared(bare)
    }
}
