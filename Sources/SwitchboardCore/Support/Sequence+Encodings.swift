/// Encodings written out by hand: identifiers and digests are made on every request, and the
/// Foundation route (format strings, string replacement) cost more than the rest of the work.
extension Sequence where Element == UInt8 {
    /// Base64url (RFC 4648 section 5) without padding.
    package func base64URLEncoded() -> String {
        base64Encoded(alphabet: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8))
    }

    /// Base64 without padding over the given 64 characters.
    func base64Encoded(alphabet: [UInt8]) -> String {
        let bytes = Array(self)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 2 < bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out += [alphabet[Int(value >> 18)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)]]
            out.append(alphabet[Int(value & 63)])
            index += 3
        }
        if index < bytes.count {
            let second = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let value = UInt32(bytes[index]) << 16 | second << 8
            out += [alphabet[Int(value >> 18)], alphabet[Int(value >> 12 & 63)]]
            if index + 1 < bytes.count { out.append(alphabet[Int(value >> 6 & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lower-case hex.
    package var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
