import Crypto
import Foundation

/// Random, URL-safe identifiers with a type prefix so a stray id in a log says what it names.
public enum Identifier {
    public static func make(_ prefix: String, bytes: Int = 12) -> String {
        prefix + "_" + randomToken(bytes: bytes)
    }

    static func randomToken(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let raw = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(raw).base64URLEncoded()
    }
}

extension Data {
    func base64URLEncoded() -> String {
        base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension Sequence where Element == UInt8 {
    var hexString: String { Data(self).hex }
}

extension String {
    /// SHA-256 of the UTF-8 bytes, hex; for high-entropy secrets (API keys) where a slow hash buys nothing.
    var sha256Hex: String { SHA256.hash(data: Data(utf8)).hexString }
}
