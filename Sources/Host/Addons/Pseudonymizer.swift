import Crypto
import Foundation
import Synchronization

/// Keyed pseudonyms: HMAC-SHA256 under a key derived per (add-on, account) from the host's secret.
/// The same number gives the same token to one add-on for one account (so it can count), and
/// unrelated tokens to any other add-on or account (so tokens cannot be joined).
public final class Pseudonymizer: Sendable {
    private let master: SymmetricKey
    /// Derived keys, so the HKDF runs once per (add-on, account) rather than once per field.
    private let keys = Mutex<[String: SymmetricKey]>([:])

    public init(master: SymmetricKey) {
        self.master = master
    }

    private func key(addonID: String, accountID: String) -> SymmetricKey {
        let name = addonID + "|" + accountID
        if let key = keys.withLock({ $0[name] }) { return key }
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, info: Data("switchboard.pseudonym|\(name)".utf8), outputByteCount: 32)
        keys.withLock { keys in
            if keys.count > 100_000 { keys.removeAll(keepingCapacity: true) }
            keys[name] = key
        }
        return key
    }

    public func token(_ value: String, addonID: String, accountID: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data(value.utf8), using: key(addonID: addonID, accountID: accountID))
        return "psn_" + mac.prefix(16).hexString
    }
}
