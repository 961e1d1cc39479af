import Crypto
import Foundation

/// Keyed pseudonyms: HMAC-SHA256 under a key derived per (add-on, account) from the host's secret.
/// The same number gives the same token to one add-on for one account (so it can count), and
/// unrelated tokens to any other add-on or account (so tokens cannot be joined).
public struct Pseudonymizer: Sendable {
    private let master: SymmetricKey

    public init(master: SymmetricKey) {
        self.master = master
    }

    public func token(_ value: String, addonID: String, accountID: String) -> String {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, info: Data("switchboard.pseudonym|\(addonID)|\(accountID)".utf8),
            outputByteCount: 32)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(value.utf8), using: key)
        return "psn_" + Data(mac).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}
