/// Number and sender-id rules, with the message shown to the user when a value breaks them.
package enum PhoneNumber {
    package static let e164Hint = "must be E.164, e.g. +37255512345"

    /// `+`, a non-zero digit, then 1 to 14 more digits (ITU-T E.164: at most 15 digits).
    package static func isE164(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 3, bytes.count <= 16, bytes[0] == UInt8(ascii: "+") else { return false }
        guard bytes[1] >= UInt8(ascii: "1"), bytes[1] <= UInt8(ascii: "9") else { return false }
        return bytes.dropFirst(2).allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// An alphanumeric sender id: 1 to 11 ASCII letters, digits or spaces, at least one letter.
    package static func isAlphanumericSender(_ text: String) -> Bool {
        guard (1...11).contains(text.lengthInCodePoints) else { return false }
        guard
            text.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == " ")
            })
        else { return false }
        return text.unicodeScalars.contains { $0.properties.isAlphabetic }
    }

    /// Why `text` is neither an E.164 number nor an alphanumeric sender id, naming the rule it
    /// breaks: a `FieldError` message for `from`.
    package static func senderProblem(_ text: String) -> String {
        let rule =
            "must be an E.164 number (e.g. +37255512345) or an alphanumeric sender id: 1 to 11 ASCII letters, "
            + "digits or spaces with at least one letter (e.g. ACME 24)"
        if let odd = text.unicodeScalars.first(where: {
            !($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == " " || $0 == "+"))
        }) {
            return "\(rule); it holds '\(odd)' (U+\(String(odd.value, radix: 16, uppercase: true))), which is neither"
        }
        if text.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || $0 == "+" || $0 == " " }) {
            return "\(rule); a number needs a leading + and its country code, and then digits only (2 to 15 of them, "
                + "the first not 0)"
        }
        if text.lengthInCodePoints > 11 {
            return "\(rule); it has \(text.lengthInCodePoints) characters"
        }
        return rule
    }
}
