/// Swift source text, built line by line with the indentation of the blocks it is in.
struct CodeWriter {
    private(set) var text = ""
    private var indentation = 0

    /// Appends `line` at the current indentation; an empty string appends an empty line.
    mutating func line(_ line: String = "") {
        text += line.isEmpty ? "\n" : String(repeating: "    ", count: indentation) + line + "\n"
    }

    /// Appends `header {` (or `header { parameters in` for a closure), what `body` writes one level deeper, and `}`.
    /// A `switch` passes `indented: false`, so that its `case`s line up with it.
    mutating func block(
        _ header: String, parameters: String? = nil, indented: Bool = true, _ body: (inout CodeWriter) -> Void
    ) {
        line(header + (parameters.map { " { \($0) in" } ?? " {"))
        if indented { indentation += 1 }
        body(&self)
        if indented { indentation -= 1 }
        line("}")
    }

    /// Appends `documentation` as `///` lines; nothing when it is empty.
    mutating func documentation(_ documentation: String) {
        guard !documentation.isEmpty else { return }
        for docLine in documentation.split(separator: "\n", omittingEmptySubsequences: false) {
            line(docLine.isEmpty ? "///" : "/// \(docLine)")
        }
    }
}
