/// The one rule for text that customers give the API, whatever the field or the way in (JSON bodies,
/// query parameters, CSV imports): C0 control characters are refused, except tab, line feed and
/// carriage return.
///
/// Rationale: U+0000 (NUL) cannot be stored as given. SQLite bindings and C strings end text at it,
/// so `"abc\u0000def"` was answered 201 and read back as `"abc"`, and in hash mode it got the digest
/// of `"abc"`. Refusing it keeps every stored value byte for byte what was sent. The other C0
/// controls (U+0001–U+001F but tab, LF and CR) are refused with it: no SMS, name or note needs them,
/// and a bell or escape in a name reaches terminals and CSV exports of the people reading it. Tab and
/// line breaks are text and are kept exactly (a CRLF stays a CRLF). DEL (U+007F) and the C1 range
/// are stored as given.
package enum TextRule {
    /// Why `text` breaks the rule, as a `FieldError` message naming the first bad character and its
    /// 1-based position in Unicode scalars; nil when the text is acceptable.
    package static func problem(_ text: String) -> String? {
        // Fast path: the UTF-8 bytes below 0x20 are exactly the C0 controls.
        guard text.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) else {
            return nil
        }
        for (offset, scalar) in text.unicodeScalars.enumerated() where isRefused(scalar) {
            return "must not contain \(name(scalar)), found at character \(offset + 1); text may hold tab, line feed "
                + "and carriage return but no other control character"
        }
        return nil
    }

    /// Whether `scalar` is a C0 control other than tab, line feed and carriage return.
    package static func isRefused(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r"
    }

    private static let names = [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR", "SO", "SI",
        "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
    ]

    /// `U+0000 (NUL)`: the code point and its ASCII name.
    private static func name(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex) (\(names[Int(scalar.value)]))"
    }
}
