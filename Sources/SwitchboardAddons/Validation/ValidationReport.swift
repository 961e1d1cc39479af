/// What `switchboard addons validate` found: one result per rule, in the order they ran.
public struct ValidationReport: Sendable, Codable {
    /// One rule's result.
    public struct Rule: Sendable, Codable {
        public enum Outcome: String, Sendable, Codable {
            case passed, failed
            /// The rule does not apply to this add-on (no pre-send hook, not flagged thread-safe) or
            /// could not run because an earlier rule failed; the detail says which.
            case skipped
        }

        /// A stable id (`exports`, `lifecycle`, …) for scripts; `docs/addons.md` lists them.
        public var id: String
        /// What the rule asks, in one line.
        public var title: String
        public var outcome: Outcome
        /// What was seen: the figures when it passed, the reason and the fix when it failed.
        public var detail: String
    }

    /// The manifest file as given.
    public var manifest: String
    /// The add-on's id and version, when the manifest could be read.
    public var addon: String?
    public var version: String?
    public var rules: [Rule]

    /// True when no rule failed.
    public var passed: Bool { !rules.contains { $0.outcome == .failed } }
}
