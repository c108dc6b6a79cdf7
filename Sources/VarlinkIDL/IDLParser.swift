/// A recursive-descent parser for varlink's interface definition language (varlink.org, "Interface Definition").
struct IDLParser {
    fileprivate struct Token {
        enum Kind: Equatable { case word, symbol, comment, end }
        let kind: Kind
        let text: String
        let line: Int
        let column: Int
    }
    private let source: String
    private var tokens: [Token] = []
    private var position = 0

    init(_ source: String) { self.source = source }

    mutating func parseInterface() throws(VarlinkIDLError) -> VarlinkInterface {
        tokens = try Self.tokenize(source)
        let documentation = comments()
        try expectWord("interface", "the definition must start with 'interface'")
        let nameToken = try word("an interface name")
        guard Self.isInterfaceName(nameToken.text) else {
            throw error(
                at: nameToken,
                "'\(nameToken.text)' is not a valid interface name (reverse domain, like org.example.ping)")
        }
        var types: [String: VarlinkType] = [:]
        var typeDocumentation: [String: String] = [:]
        var methods: [String: VarlinkMethod] = [:]
        var errors: [String: VarlinkErrorType] = [:]
        var memberNames: [String] = []
        var used: [(name: String, token: Token)] = []
        while true {
            let doc = comments()
            if peek.kind == .end { break }
            let keyword = try word("'type', 'method' or 'error'")
            let name = try word("a name after '\(keyword.text)'")
            guard Self.isMemberName(name.text) else {
                throw error(at: name, "'\(name.text)' is not a valid name: it must start with an uppercase letter")
            }
            guard !memberNames.contains(name.text) else { throw error(at: name, "'\(name.text)' is defined twice") }
            switch keyword.text {
            case "type":
                let open = peek
                try expectSymbol("(", "expected '(' after the type name")
                types[name.text] = try structOrEnum(open: open, used: &used)
                if !doc.isEmpty { typeDocumentation[name.text] = doc }
            case "method":
                let input = try fields(used: &used, context: "the method's parameters")
                try expectSymbol("->", "expected '->' after the method's parameters")
                let output = try fields(used: &used, context: "the method's reply")
                methods[name.text] = VarlinkMethod(name: name.text, input: input, output: output, documentation: doc)
            case "error":
                let parameters = try fields(used: &used, context: "the error's parameters")
                errors[name.text] = VarlinkErrorType(name: name.text, parameters: parameters, documentation: doc)
            default:
                throw error(at: keyword, "expected 'type', 'method' or 'error', found '\(keyword.text)'")
            }
            memberNames.append(name.text)
        }
        for use in used where types[use.name] == nil {
            throw error(at: use.token, "the type '\(use.name)' is not defined in this interface")
        }
        return VarlinkInterface(
            name: nameToken.text, description: source, documentation: documentation, types: types,
            typeDocumentation: typeDocumentation, methods: methods, errors: errors, memberNames: memberNames)
    }

    // MARK: Grammar

    /// `( name: type, … )`, the opening parenthesis not yet taken.
    private mutating func fields(used: inout [(name: String, token: Token)], context: String) throws(VarlinkIDLError)
        -> [VarlinkField]
    {
        let open = peek
        try expectSymbol("(", "expected '(' to open \(context)")
        let type = try structOrEnum(open: open, used: &used)
        guard case .structure(let fields) = type else {
            throw error(at: open, "\(context) must be a struct of named fields, not an enum")
        }
        return fields
    }

    /// The inside of `(…)` after the `(`: a struct when its first name has a `:`, else an enum.
    private mutating func structOrEnum(open: Token, used: inout [(name: String, token: Token)]) throws(VarlinkIDLError)
        -> VarlinkType
    {
        _ = comments()
        if peek.is(")") {
            advance()
            return .structure([])
        }
        let isStruct = tokens[min(position + 1, tokens.count - 1)].is(":")
        var fields: [VarlinkField] = []
        var cases: [String] = []
        while true {
            _ = comments()
            let name = try word(isStruct ? "a field name" : "an enum case")
            guard Self.isFieldName(name.text) else { throw error(at: name, "'\(name.text)' is not a valid field name") }
            guard !fields.contains(where: { $0.name == name.text }) && !cases.contains(name.text) else {
                throw error(at: name, "'\(name.text)' appears twice")
            }
            if isStruct {
                try expectSymbol(":", "expected ':' after the field name '\(name.text)'")
                fields.append(VarlinkField(name: name.text, type: try type(used: &used)))
            } else {
                cases.append(name.text)
            }
            _ = comments()
            if peek.is(",") {
                advance()
                _ = comments()
                if peek.is(")") { break }  // a trailing comma
                continue
            }
            break
        }
        try expectSymbol(")", isStruct ? "expected ',' or ')' after a field" : "expected ',' or ')' after an enum case")
        return isStruct ? .structure(fields) : .enumeration(cases)
    }

    private mutating func type(used: inout [(name: String, token: Token)]) throws(VarlinkIDLError) -> VarlinkType {
        _ = comments()
        if peek.is("?") {
            advance()
            if peek.is("?") { throw error(at: peek, "'??' is not allowed: a type is optional once") }
            return .optional(try nonOptionalType(used: &used))
        }
        return try nonOptionalType(used: &used)
    }

    private mutating func nonOptionalType(used: inout [(name: String, token: Token)]) throws(VarlinkIDLError)
        -> VarlinkType
    {
        let token = peek
        if token.is("[") {
            advance()
            if peek.is("]") {
                advance()
                return .array(try type(used: &used))
            }
            let key = try word("']' or 'string'")
            guard key.text == "string" else { throw error(at: key, "map keys must be 'string', found '\(key.text)'") }
            try expectSymbol("]", "expected ']' after '[string'")
            if peek.is("("), tokens[min(position + 1, tokens.count - 1)].is(")") {
                advance()
                advance()
                return .stringSet
            }
            return .dictionary(try type(used: &used))
        }
        if token.is("(") {
            advance()
            return try structOrEnum(open: token, used: &used)
        }
        let name = try word("a type")
        switch name.text {
        case "bool": return .bool
        case "int": return .int
        case "float": return .float
        case "string": return .string
        case "object": return .object
        default:
            guard Self.isMemberName(name.text) else { throw error(at: name, "'\(name.text)' is not a type") }
            used.append((name.text, name))
            return .named(name.text)
        }
    }

    // MARK: Tokens

    private var peek: Token { tokens[position] }
    private mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    /// Skips comments, returning their text, one line each.
    private mutating func comments() -> String {
        var lines: [String] = []
        while peek.kind == .comment {
            lines.append(peek.text)
            advance()
        }
        return lines.joined(separator: "\n")
    }

    private mutating func word(_ what: String) throws(VarlinkIDLError) -> Token {
        _ = comments()
        let token = peek
        guard token.kind == .word else { throw error(at: token, "expected \(what), found \(token.quoted)") }
        advance()
        return token
    }

    private mutating func expectWord(_ text: String, _ message: String) throws(VarlinkIDLError) {
        _ = comments()
        guard peek.kind == .word, peek.text == text else { throw error(at: peek, "\(message), found \(peek.quoted)") }
        advance()
    }

    private mutating func expectSymbol(_ text: String, _ message: String) throws(VarlinkIDLError) {
        _ = comments()
        guard peek.is(text) else { throw error(at: peek, "\(message), found \(peek.quoted)") }
        advance()
    }

    private func error(at token: Token, _ message: String) -> VarlinkIDLError {
        VarlinkIDLError(line: token.line, column: token.column, message: message)
    }

    private static func tokenize(_ source: String) throws(VarlinkIDLError) -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(source.unicodeScalars)
        var index = 0
        var line = 1
        var column = 1
        func isWordScalar(_ c: Unicode.Scalar) -> Bool {
            ("0"..."9").contains(c) || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_"
                || c == "." || c == "-"
        }
        while index < scalars.count {
            let c = scalars[index]
            let (startLine, startColumn) = (line, column)
            if c == "\n" {
                index += 1
                line += 1
                column = 1
            } else if c == " " || c == "\t" || c == "\r" {
                index += 1
                column += 1
            } else if c == "#" {
                var end = index + 1
                while end < scalars.count && scalars[end] != "\n" { end += 1 }
                var text = String(String.UnicodeScalarView(scalars[(index + 1)..<end]))
                if text.hasPrefix(" ") { text.removeFirst() }
                tokens.append(Token(kind: .comment, text: text, line: startLine, column: startColumn))
                column += end - index
                index = end
            } else if c == "-" && index + 1 < scalars.count && scalars[index + 1] == ">" {
                tokens.append(Token(kind: .symbol, text: "->", line: startLine, column: startColumn))
                index += 2
                column += 2
            } else if "(),:?[]".unicodeScalars.contains(c) {
                tokens.append(Token(kind: .symbol, text: String(c), line: startLine, column: startColumn))
                index += 1
                column += 1
            } else if isWordScalar(c) {
                var end = index
                while end < scalars.count && isWordScalar(scalars[end])
                    && !(scalars[end] == "-" && end + 1 < scalars.count && scalars[end + 1] == ">")
                {
                    end += 1
                }
                let text = String(String.UnicodeScalarView(scalars[index..<end]))
                tokens.append(Token(kind: .word, text: text, line: startLine, column: startColumn))
                column += end - index
                index = end
            } else {
                throw VarlinkIDLError(line: line, column: column, message: "unexpected character '\(c)'")
            }
        }
        tokens.append(Token(kind: .end, text: "", line: line, column: column))
        return tokens
    }

    // MARK: Names

    /// `org.example.ping`: at least two dot-separated parts of lowercase letters, digits and inner dashes.
    static func isInterfaceName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return false }
        return parts.allSatisfy { part in
            guard let first = part.first, let last = part.last, first != "-", last != "-" else { return false }
            return part.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
                && !(first.isNumber && part == parts[0])
        }
    }

    /// `Ping`, `MyType`: an uppercase letter, then letters and digits.
    static func isMemberName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isUppercase else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    /// `client_id`: a letter, then letters, digits and underscores.
    static func isFieldName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}

extension IDLParser.Token {
    fileprivate func `is`(_ symbol: String) -> Bool { kind == .symbol && text == symbol }
    fileprivate var quoted: String { kind == .end ? "the end" : "'\(text)'" }
}
