import SwitchboardCore

/// The rules for the manifest's words that customers and operators read (`name`, `vendor`,
/// `description`, each field's `purpose`): a customer consents on the strength of them, so they
/// must say what they appear to say.
///
/// Beyond the text rule every configuration string keeps (no control character but tab and line
/// breaks, which would reach the operator's terminal in `addons list`), they may not hold the
/// format characters that hide or reorder text: a right-to-left override makes "Reporting" show as
/// any other word, and a zero-width space makes two names that look alike differ. They have a
/// length that fits a consent screen, and words in them: a purpose of twelve spaces tells the
/// customer nothing.
enum ManifestText {
    /// Bidirectional embeddings, overrides and isolates (Unicode UAX #9), the Arabic letter mark,
    /// and the invisible spaces and joiners that carry no meaning in a name: U+200B, U+2060, U+FEFF.
    static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x202A...0x202E, 0x2066...0x2069, 0x061C, 0x200B, 0x2060, 0xFEFF: true
        default: false
        }
    }

    /// Why `text` breaks the rules for a manifest's words, as a `FieldError` message; nil when it
    /// keeps them. `minimumWords`: how many visible characters it needs at least (not white space,
    /// not hidden), counted as Unicode code points; `maxLength` counts every code point.
    static func problem(_ text: String, maxLength: Int, minimumVisible: Int = 1) -> String? {
        if let hidden = text.unicodeScalars.first(where: isHidden) {
            let hex = String(hidden.value, radix: 16, uppercase: true)
            return "must not contain U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex), "
                + "a format character that hides or reorders text; write what customers are to read as it reads"
        }
        if text.lengthInCodePoints > maxLength {
            return "must be at most \(maxLength) characters (got \(text.lengthInCodePoints))"
        }
        let visible = text.unicodeScalars.filter { !$0.properties.isWhitespace }.count
        if visible < minimumVisible {
            return minimumVisible == 1
                ? "must not be blank: write it in words customers read"
                : "must have at least \(minimumVisible) characters besides spaces (got \(visible))"
        }
        return nil
    }

    /// Why `text`, a `version` or `id`, has white space at either end (which no descriptor string
    /// matches, and which messages cannot show).
    static func edgeProblem(_ text: String) -> String? {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
            first.properties.isWhitespace || last.properties.isWhitespace
        else { return nil }
        return "\"\(text)\" starts or ends with white space; remove it"
    }
}
