/// The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 §6.2.1), and septet
/// packing (3GPP TS 23.038 §6.1.2.1).
public enum GSM7 {
    /// The default alphabet in septet order; 0x1B is the escape to the extension table.
    static let basic: [Character] = Array(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1B}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    static let escape: UInt8 = 0x1B
    /// The extension table's characters and their septets after the escape.
    static let extended: [Character: UInt8] = [
        "\u{0C}": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E,
        "|": 0x40, "€": 0x65,
    ]
    static let basicIndex: [Character: UInt8] = Dictionary(
        uniqueKeysWithValues: basic.enumerated().filter { $0.offset != 0x1B }.map { ($0.element, UInt8($0.offset)) })
    static let extendedByCode: [UInt8: Character] = Dictionary(uniqueKeysWithValues: extended.map { ($1, $0) })

    /// The septets of `character` (one, or the escape and one), nil when the alphabet lacks it.
    public static func septets(of character: Character) -> [UInt8]? {
        if let code = basicIndex[character] { return [code] }
        if let code = extended[character] { return [escape, code] }
        return nil
    }

    /// `text` as septets, one per octet; nil when a character is not in the alphabet.
    public static func encode(_ text: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        for character in text {
            guard let encoded = septets(of: character) else { return nil }
            result += encoded
        }
        return result
    }

    /// Septets (one per octet, high bit ignored) as text. An escape before a code the extension
    /// table lacks reads as the default alphabet's character, as TS 23.038 asks of receivers.
    public static func decode(_ septets: some Collection<UInt8>) -> String {
        var text = ""
        var escaped = false
        for raw in septets {
            let septet = raw & 0x7F
            if escaped {
                escaped = false
                if let character = extendedByCode[septet] {
                    text.append(character)
                    continue
                }
            } else if septet == escape {
                escaped = true
                continue
            }
            text.append(basic[Int(septet)] == "\u{1B}" ? " " : basic[Int(septet)])
        }
        return text
    }

    /// Packs septets into octets, least significant bit first, after `fillBits` zero bits (the fill
    /// that aligns the first septet after a user data header, 3GPP TS 23.040 §9.2.3.24).
    public static func pack(_ septets: [UInt8], fillBits: Int = 0) -> [UInt8] {
        var octets: [UInt8] = []
        octets.reserveCapacity((septets.count * 7 + fillBits + 7) / 8)
        var accumulator: UInt32 = 0
        var bits = fillBits
        for septet in septets {
            accumulator |= UInt32(septet & 0x7F) << bits
            bits += 7
            while bits >= 8 {
                octets.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator >>= 8
                bits -= 8
            }
        }
        if bits > 0 { octets.append(UInt8(truncatingIfNeeded: accumulator)) }
        return octets
    }

    /// Unpacks `count` septets from `octets` after `fillBits` bits; fewer when the octets end.
    public static func unpack(_ octets: some Collection<UInt8>, count: Int? = nil, fillBits: Int = 0) -> [UInt8] {
        let available = (octets.count * 8 - fillBits) / 7
        let wanted = min(count ?? available, available)
        var septets: [UInt8] = []
        septets.reserveCapacity(wanted)
        var accumulator: UInt32 = 0
        var bits = 0
        var skip = fillBits
        for octet in octets {
            accumulator |= UInt32(octet) << bits
            bits += 8
            if skip > 0 {
                accumulator >>= skip
                bits -= skip
                skip = 0
            }
            while bits >= 7, septets.count < wanted {
                septets.append(UInt8(accumulator & 0x7F))
                accumulator >>= 7
                bits -= 7
            }
        }
        return septets
    }
}
