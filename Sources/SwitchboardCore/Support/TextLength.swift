extension StringProtocol {
    /// The length every limit on customer text counts ("at most 200 characters"): Unicode code
    /// points. `count` counts grapheme clusters, and one cluster may carry any number of combining
    /// marks or joined emoji: a body of 1,600 clusters could be hundreds of SMS segments, past the
    /// 255 parts a concatenated SMS can have (3GPP TS 23.040 §9.2.3.24.1), and a 200-character name
    /// megabytes.
    package var lengthInCodePoints: Int { unicodeScalars.count }

    /// Whether the text is empty or shows nothing: white space (spaces of any width, tabs, line
    /// breaks: Unicode's White_Space property), invisible characters (zero-width spaces, soft hyphens:
    /// Default_Ignorable_Code_Point), controls and format characters (general categories Cc and Cf:
    /// DEL, C1, the interlinear annotation marks U+FFF9–U+FFFB) and the blank Braille pattern
    /// U+2800, which draws an empty cell.
    package var isBlank: Bool {
        unicodeScalars.allSatisfy {
            $0.properties.isWhitespace || $0.properties.isDefaultIgnorableCodePoint
                || $0.properties.generalCategory == .control || $0.properties.generalCategory == .format
                || $0.value == 0x2800
        }
    }
}

extension TextRule {
    /// The one wording for required text that shows nothing (`isBlank`), wherever it is checked.
    package static let blankMessage = "must not be blank: it holds only spaces, line breaks or invisible characters"

    /// Why a text field's value breaks its size rule, as a `FieldError` message; nil when it keeps it.
    /// The one wording of these rules for every way a field comes in (JSON bodies, the CLI): at most
    /// `maxLength` characters counted as Unicode code points (`lengthInCodePoints`), and, when
    /// `required`, not empty and not blank (`isBlank`).
    package static func sizeProblem(_ text: String, maxLength: Int, required: Bool) -> String? {
        if text.lengthInCodePoints > maxLength {
            return "must be at most \(maxLength) characters (got \(text.lengthInCodePoints))"
        }
        if required && text.isBlank {
            return text.isEmpty
                ? "must not be empty" : blankMessage
        }
        return nil
    }
}
