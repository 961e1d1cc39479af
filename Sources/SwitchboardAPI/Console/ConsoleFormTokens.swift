import Crypto
import Foundation
import SwitchboardCore

/// The form tokens of the pages shown before there is a session (sign-in, sign-up, the operator's
/// sign-in): `frm_<nonce>.<mac>`, a random 128-bit nonce and its HMAC-SHA256 (truncated to 128
/// bits) under a key derived from the operator token. Signed, so that a token planted in a
/// browser's cookie by someone who can set cookies for this host (a sibling subdomain, plain HTTP
/// on the path) but does not hold the key is refused: OWASP CSRF Prevention Cheat Sheet, "Signed
/// Double-Submit Cookie". Derived from the operator token rather than drawn at start, so that it
/// survives a restart and every daemon sharing that token accepts the others' tokens.
struct ConsoleFormTokens: Sendable {
    private let key: SymmetricKey

    init(operatorToken: String) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(operatorToken.utf8)),
            info: Data("switchboard console form token".utf8), outputByteCount: 32)
    }

    /// A new token.
    func make() -> String {
        let nonce = Identifier.randomToken(bytes: 16)
        return "frm_\(nonce).\(mac(nonce))"
    }

    /// Whether `token` is one this key made (compared in constant time).
    func isValid(_ token: String) -> Bool {
        guard token.hasPrefix("frm_"), token.count <= 80 else { return false }
        let parts = token.dropFirst(4).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return false }
        let expected = Array(mac(String(parts[0])).utf8)
        let given = Array(parts[1].utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func mac(_ nonce: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(nonce.utf8), using: key)
        return Data(code.prefix(16)).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
