/// How a body is encoded on the air and how many SMS segments it takes (3GPP TS 23.038).
public struct SegmentCount: Sendable, Equatable {
    public enum Encoding: String, Sendable, Codable {
        case gsm7 = "GSM-7"
        case ucs2 = "UCS-2"
    }

    public var encoding: Encoding
    public var segments: Int
    /// Septets for GSM-7, UTF-16 code units for UCS-2.
    public var units: Int

    public init(body: String) {
        var septets = 0
        var isGSM = true
        for scalar in body.unicodeScalars {
            if Self.basic.contains(scalar) {
                septets += 1
            } else if Self.extended.contains(scalar) {
                septets += 2  // escape + character
            } else {
                isGSM = false
                break
            }
        }
        if isGSM {
            encoding = .gsm7
            units = septets
            segments = septets <= 160 ? 1 : Self.concatenated(septets, perSegment: 153, isGSM: true, body: body)
        } else {
            encoding = .ucs2
            units = body.utf16.count
            segments = units <= 70 ? 1 : Self.concatenated(units, perSegment: 67, isGSM: false, body: body)
        }
        if units == 0 { segments = 1 }
    }

    /// Concatenated parts never split an escape pair (GSM-7) or a surrogate pair (UCS-2).
    private static func concatenated(_ total: Int, perSegment: Int, isGSM: Bool, body: String) -> Int {
        var segments = 1
        var used = 0
        if isGSM {
            for scalar in body.unicodeScalars {
                let width = extended.contains(scalar) ? 2 : 1
                if used + width > perSegment {
                    segments += 1
                    used = 0
                }
                used += width
            }
        } else {
            for scalar in body.unicodeScalars {
                let width = scalar.value > 0xFFFF ? 2 : 1
                if used + width > perSegment {
                    segments += 1
                    used = 0
                }
                used += width
            }
        }
        return segments
    }

    private static let basic: Set<Unicode.Scalar> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
            .unicodeScalars)

    private static let extended: Set<Unicode.Scalar> = Set("^{}\\[~]|€\u{000C}".unicodeScalars)
}

extension SegmentCount {
    public init(encoding: Encoding, segments: Int, units: Int) {
        self.encoding = encoding
        self.segments = segments
        self.units = units
    }
}
