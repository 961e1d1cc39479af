/// Passwords that attackers try first: the 30,000 most common passwords of a public breach corpus
/// (`CommonPasswordList.swift`, where the source and licence are noted) plus a few that are famous
/// as examples. NIST SP 800-63B section 5.1.1.2 asks a verifier to refuse "passwords obtained from
/// previous breach corpuses" and "dictionary words".
///
/// Entries are lower case. A candidate is looked up as given: `PasswordForms` makes the candidates
/// (case-folded, letter swaps undone, digits and symbols at the ends stripped).
package enum CommonPasswords {
    /// How many distinct entries the list holds.
    package static var count: Int { entries.count }

    /// Whether `candidate` (lower case) is on the list.
    package static func contains(_ candidate: String) -> Bool {
        entries.contains(candidate)
    }

    /// Built on first use (about 30,000 insertions), then shared.
    private static let entries: Set<String> = {
        var set = Set<String>(minimumCapacity: 30_100)
        for line in listText.split(separator: "\n") where !line.isEmpty {
            set.insert(String(line))
        }
        set.formUnion(examples)
        return set
    }()

    /// Passwords published as examples of "strong" ones, and so tried early by attackers, and long
    /// ones that attackers' lists carry but the 30,000 do not.
    private static let examples: Set<String> = [
        "correcthorsebatterystaple", "troubadour", "tr0ub4dor&3", "administrator", "michaeljordan", "facebook",
    ]
}
