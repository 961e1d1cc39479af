import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238) as authenticator apps compute them: HMAC-SHA-1 over
/// the count of 30-second steps since the Unix epoch, dynamically truncated to 6 decimal digits
/// (RFC 4226 section 5.3). SHA-1 is what every authenticator app implements for `otpauth://` URIs
/// without an `algorithm` parameter; HMAC-SHA-1 is not weakened by SHA-1's collisions (RFC 6238
/// section 5 keeps it as the default).
public struct TOTP: Sendable, Equatable {
    /// The shared secret, 20 bytes (160 bits, the length RFC 4226 section 4 recommends).
    public let secret: [UInt8]
    /// Seconds per step (RFC 6238 `X`, default 30).
    public let period: Int64 = 30
    /// Digits per code.
    public let digits = 6

    public init(secret: [UInt8]) {
        self.secret = secret
    }

    /// A new secret from the system CSPRNG.
    public static func generate() -> TOTP {
        var generator = SystemRandomNumberGenerator()
        return TOTP(secret: (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The step a moment falls in: `floor(unix seconds / 30)` (RFC 6238 section 4.2, `T`).
    /// - Parameter millis: epoch milliseconds.
    public func step(atMillis millis: Int64) -> Int64 { millis / 1000 / period }

    /// The code for one step, zero-padded to 6 digits (RFC 4226 section 5.3).
    public func code(step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary =
            (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        let value = binary % 1_000_000
        let text = String(value)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// The step whose code `candidate` is, looking one step either side of `millis` for clocks that
    /// drift (RFC 6238 section 5.2 recommends at most one step of delay), or nil. Spaces in the
    /// candidate are ignored, as apps show the code in two groups of three.
    public func matchingStep(_ candidate: String, atMillis millis: Int64) -> Int64? {
        let cleaned = candidate.filter { !$0.isWhitespace }
        guard cleaned.count == digits, cleaned.allSatisfy(\.isASCII), cleaned.allSatisfy(\.isNumber) else { return nil }
        let now = step(atMillis: millis)
        for step in [now, now - 1, now + 1] where constantTimeEqual(code(step: step), cleaned) {
            return step
        }
        return nil
    }

    /// The secret in base32 without padding (RFC 4648 section 6), as typed into an app by hand.
    public var base32Secret: String { Base32.encode(secret) }

    /// The `otpauth://totp/` URI authenticator apps import (Google Authenticator's Key Uri Format):
    /// `issuer` and `account` label the entry in the app.
    public func provisioningURI(issuer: String, account: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@")
        let label = "\(issuer):\(account)".addingPercentEncoding(withAllowedCharacters: allowed) ?? account
        let issuerParameter = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? issuer
        return
            "otpauth://totp/\(label)?secret=\(base32Secret)&issuer=\(issuerParameter)&period=\(period)&digits=\(digits)"
    }
}

/// Compares two strings in time that depends only on their lengths, so a code's digits are not
/// learned one at a time from response times.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let left = Array(a.utf8)
    let right = Array(b.utf8)
    guard left.count == right.count else { return false }
    var difference: UInt8 = 0
    for index in left.indices { difference |= left[index] ^ right[index] }
    return difference == 0
}

/// RFC 4648 section 6 base32 (`A–Z 2–7`), the alphabet of TOTP secrets.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// Encodes without `=` padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes, ignoring case, spaces and `=`; nil for any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.uppercased().utf8 where character != UInt8(ascii: " ") && character != UInt8(ascii: "=") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return output
    }
}
