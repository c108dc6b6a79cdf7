/// A type in varlink's interface definition language.
public indirect enum VarlinkType: Hashable, Sendable, CustomStringConvertible {
    case bool, int, float, string
    /// `object`: any JSON value, passed through untyped.
    case object
    /// `[]T`
    case array(VarlinkType)
    /// `[string]T`
    case dictionary(VarlinkType)
    /// `[string]()`: a set of strings, on the wire an object whose members are all `{}`.
    case stringSet
    /// `?T`: may be missing or `null`.
    case optional(VarlinkType)
    /// `(a, b, c)`
    case enumeration([String])
    /// `(name: T, …)`
    case structure([VarlinkField])
    /// A type the interface defines with `type Name …`.
    case named(String)

    public var description: String {
        switch self {
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "string"
        case .object: return "object"
        case .array(let element): return "[]\(element)"
        case .dictionary(let element): return "[string]\(element)"
        case .stringSet: return "[string]()"
        case .optional(let wrapped): return "?\(wrapped)"
        case .enumeration(let cases): return "(\(cases.joined(separator: ", ")))"
        case .structure(let fields): return "(\(fields.map(\.description).joined(separator: ", ")))"
        case .named(let name): return name
        }
    }
}

/// A named member of a struct, a method's input or output, or an error's parameters.
public struct VarlinkField: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var type: VarlinkType
    public init(name: String, type: VarlinkType) {
        self.name = name
        self.type = type
    }
    public var description: String { "\(name): \(type)" }
}

/// A method: its parameters and its reply's.
public struct VarlinkMethod: Hashable, Sendable {
    public var name: String
    public var input: [VarlinkField]
    public var output: [VarlinkField]
    /// The `#` comment lines before it, without the `#`.
    public var documentation: String
}

/// An error an interface declares, with its parameters.
public struct VarlinkErrorType: Hashable, Sendable {
    public var name: String
    public var parameters: [VarlinkField]
    public var documentation: String
}

/// A parsed varlink interface: its name, types, methods and errors, and the text it was parsed from (what
/// `org.varlink.service.GetInterfaceDescription` returns).
///
/// ```swift
/// let interface = try VarlinkInterface(parsing: "interface org.example.ping\nmethod Ping(ping: string) -> (pong: string)")
/// interface.methods["Ping"]?.input   // [ping: string]
/// ```
public struct VarlinkInterface: Hashable, Sendable {
    /// The reverse-domain name, such as `org.example.ping`.
    public var name: String
    /// The interface definition as written.
    public var description: String
    /// The `#` comment lines before `interface`.
    public var documentation: String
    /// The types by name (`type Name …`); each a ``VarlinkType/structure(_:)`` or ``VarlinkType/enumeration(_:)``.
    public var types: [String: VarlinkType]
    /// The `#` comment lines before each `type`, by type name; a type without them is missing.
    public var typeDocumentation: [String: String]
    public var methods: [String: VarlinkMethod]
    public var errors: [String: VarlinkErrorType]
    /// Type, method and error names in the order they are defined.
    public var memberNames: [String]

    /// Parses an interface definition.
    ///
    /// - Throws: ``VarlinkIDLError`` with the line and column of the first problem: a syntax error, a name
    ///   defined twice, or a type used but not defined.
    public init(parsing text: String) throws(VarlinkIDLError) {
        var parser = IDLParser(text)
        self = try parser.parseInterface()
    }

    init(
        name: String, description: String, documentation: String, types: [String: VarlinkType],
        typeDocumentation: [String: String], methods: [String: VarlinkMethod], errors: [String: VarlinkErrorType],
        memberNames: [String]
    ) {
        self.name = name
        self.description = description
        self.documentation = documentation
        self.types = types
        self.typeDocumentation = typeDocumentation
        self.methods = methods
        self.errors = errors
        self.memberNames = memberNames
    }
}

/// A problem in an interface definition, with where it is.
public struct VarlinkIDLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The line, from 1.
    public var line: Int
    /// The column, from 1, counted in characters.
    public var column: Int
    /// What is wrong: `expected ':' after the field name`.
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `3:14: expected ':' after the field name`
    public var description: String { "\(line):\(column): \(message)" }
}
