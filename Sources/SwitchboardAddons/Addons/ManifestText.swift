import SwitchboardCore

/// The rules for the manifest's words that customers and operators read (`name`, `vendor`,
/// `description`, each field's `purpose`): a customer consents on the strength of them, so they
/// must say what they appear to say.
///
/// Beyond the text rule every configuration string keeps (no control character but tab and line
/// breaks, which would reach the operator's terminal in `addons list`), they may not hold the
/// characters that are invisible or reorder text: a right-to-left override makes "Reporting" show as
/// any other word, and a zero-width space makes two names that look alike differ. They have a
/// length that fits a consent screen, and words in them: a purpose of twelve spaces tells the
/// customer nothing.
enum ManifestText {
    /// What a reader cannot see or that changes how the rest reads: Unicode's default-ignorable code
    /// points (bidirectional marks, embeddings, overrides and isolates, invisible spaces, fillers,
    /// the soft hyphen, tag characters; UAX #44), interlinear annotation marks and C1 controls.
    /// Zero-width joiner and non-joiner and the variation selectors stay: Persian, Indic scripts and
    /// emoji are written with them.
    static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x200C, 0x200D, 0xFE00...0xFE0F: false
        case 0x80...0x9F, 0xFFF9...0xFFFB: true
        default: scalar.properties.isDefaultIgnorableCodePoint
        }
    }

    /// Characters that draw nothing though they are neither white space nor hidden (the blank
    /// Braille pattern): they do not count as words.
    static func isBlankLooking(_ scalar: Unicode.Scalar) -> Bool { scalar.value == 0x2800 }

    /// Why `text` breaks the rules for a manifest's words, as a `FieldError` message; nil when it
    /// keeps them. `minimumWords`: how many visible characters it needs at least (not white space,
    /// not hidden), counted as Unicode code points; `maxLength` counts every code point.
    static func problem(_ text: String, maxLength: Int, minimumVisible: Int = 1) -> String? {
        if let hidden = text.unicodeScalars.first(where: isHidden) {
            let hex = String(hidden.value, radix: 16, uppercase: true)
            return "must not contain U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex), "
                + "a character that is invisible or reorders text; write what customers are to read as it reads"
        }
        if text.lengthInCodePoints > maxLength {
            return "must be at most \(maxLength) characters (got \(text.lengthInCodePoints))"
        }
        let visible = text.unicodeScalars.filter { !$0.properties.isWhitespace && !isBlankLooking($0) }.count
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
