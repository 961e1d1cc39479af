/// A configuration problem, naming where it is and how to fix it.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var problems: [FieldError]

    /// A problem list for `source` (a file path or `SWITCHBOARD_*` variable).
    package init(source: String, problems: [FieldError]) {
        self.source = source
        self.problems = problems
    }

    public var description: String {
        "invalid configuration in \(source):\n"
            + problems.map { "  \($0.field): \($0.message)" }.joined(separator: "\n")
    }
}
