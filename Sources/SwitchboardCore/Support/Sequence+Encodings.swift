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

    /// Lower-case hex. Inlinable so that callers in other modules (a pseudonym per field of every
    /// add-on view, a ledger row's hash) get a loop specialised for their digest type: unspecialised,
    /// it was 1.2% of the daemon's samples with the three add-ons.
    @inlinable package var hexString: String {
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(Self.hexDigit(byte >> 4))
            out.append(Self.hexDigit(byte & 15))
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inlinable package static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
