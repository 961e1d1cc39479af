/// The password rules of sign-up and password change, after NIST SP 800-63B section 5.1.1.2
/// (memorized secret verifiers): at least 12 characters (NIST's floor is 8), at most 128, every
/// character allowed, no composition rules, and a refusal of passwords that are on a list of
/// common passwords, repetitive or sequential, or built from context-specific words (the service's
/// name, the account's name and email address). Each refusal says which rule it broke and how to
/// choose instead, as section 5.1.1.2 asks ("the verifier SHALL advise the subscriber…").
///
/// Comparisons use `PasswordForms`: case-folded, with letter-for-symbol swaps undone and digits and
/// symbols at the ends stripped, so `Summer2026!!` is `summer` and `P@ssw0rd1234` is `password`.
public struct PasswordPolicy: Sendable {
    /// In characters (Swift `Character`s, i.e. grapheme clusters).
    public var minimumLength = 12
    /// In characters; long enough for any passphrase, short enough to bound the hashing work.
    public var maximumLength = 128
    /// A word of the account's name or email address shorter than this is not looked for in the
    /// password (`Ada` would refuse `adamant-…`).
    public var minimumPersonalWordLength = 4
    /// Context-specific words (section 5.1.1.2: "the name of the service").
    public var serviceNames = ["switchboard"]

    public init() {}

    /// How to choose a password: ends every refusal.
    public var statement: String {
        "use \(minimumLength) to \(maximumLength) characters: three or four unrelated words, not about you, "
            + "are strong and easy to remember"
    }

    /// Why `password` is refused, or nil when it is acceptable.
    /// - Parameters:
    ///   - email: The account's email address (the new one when it changes too), if known.
    ///   - name: The account's name (the new one when it changes too), if known.
    /// - Returns: A sentence to follow the field name `password`, e.g. `is too short (7 characters); use 12 …`.
    public func problem(with password: String, email: String?, name: String? = nil) -> String? {
        if password.count < minimumLength {
            return "is too short (\(password.count) characters); \(statement)"
        }
        if password.count > maximumLength {
            return "is too long (\(password.count) characters); \(statement)"
        }
        let forms = PasswordForms(password)
        if let email, containsEmail(forms, email: email) {
            return "must not be or contain your email address or the part before the @; \(statement)"
        }
        if let name, containsName(forms, name: name) {
            return "must not contain your name; \(statement)"
        }
        if serviceNames.contains(where: { contains(forms, $0) }) {
            return "must not contain the name of this service; \(statement)"
        }
        if PasswordForms.isKeyboardSequence(forms.folded)
            || (forms.core.count >= 6 && PasswordForms.isKeyboardSequence(forms.core))
        {
            return "is a run of neighbouring keys or letters (like qwerty, asdf or 12345), which is guessed first; "
                + statement
        }
        if PasswordForms.isRepetition(forms.folded) || (forms.core.count >= 6 && PasswordForms.isRepetition(forms.core))
        {
            return "repeats the same few characters over and over; \(statement)"
        }
        if Set(forms.folded).count < 4 {
            return "uses fewer than 4 different characters; \(statement)"
        }
        if PasswordForms.charactersOutsideRuns(forms.folded) < 4 {
            return "is mostly keys or letters in order and repeated characters (like qwerty, abc, 123 or !!!!), "
                + "which are guessed first; \(statement)"
        }
        if forms.listCandidates.contains(where: CommonPasswords.contains) {
            return "is on a list of commonly used passwords, also with capitals, digits or symbols added at "
                + "its ends, or letters swapped for look-alikes such as @ for a; \(statement)"
        }
        return nil
    }

    /// The whole address anywhere; the part before the @ (when at least `minimumPersonalWordLength`
    /// long), or a word of it, in any form.
    private func containsEmail(_ forms: PasswordForms, email: String) -> Bool {
        let address = email.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
        guard !address.isEmpty else { return false }
        if forms.folded.contains(address) { return true }
        let local = String(address.split(separator: "@", omittingEmptySubsequences: false).first ?? "")
        if local.count >= minimumPersonalWordLength, contains(forms, local) { return true }
        return PasswordForms.words(in: local, minimumLength: minimumPersonalWordLength).contains {
            contains(forms, $0)
        }
    }

    /// A word of the name, or the name's letters run together, in any form.
    private func containsName(_ forms: PasswordForms, name: String) -> Bool {
        let words = PasswordForms.words(in: name, minimumLength: 1)
        let joined = words.joined()
        if words.count > 1, joined.count >= minimumPersonalWordLength, contains(forms, joined) { return true }
        return words.contains { $0.count >= minimumPersonalWordLength && contains(forms, $0) }
    }

    private func contains(_ forms: PasswordForms, _ word: String) -> Bool {
        forms.folded.contains(word) || forms.letters.contains(word) || forms.unswapped.contains { $0.contains(word) }
    }
}
