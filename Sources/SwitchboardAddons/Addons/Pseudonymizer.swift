import Crypto
import Foundation
import SwitchboardCore
import Synchronization

/// Keyed pseudonyms: HMAC-SHA256 under a key derived per (add-on, account) from the host's secret.
/// The same number gives the same token to one add-on for one account (so it can count), and
/// unrelated tokens to any other add-on or account (so tokens cannot be joined).
public final class Pseudonymizer: Sendable {
    private let master: SymmetricKey
    /// HMACs keyed with the derived keys and nothing hashed yet, so the HKDF and the HMAC key
    /// schedule run once per (add-on, account) rather than once per field; each token starts from a copy.
    private let keys = Mutex<[String: HMAC<SHA256>]>([:])

    public init(master: SymmetricKey) {
        self.master = master
    }

    private func keyed(addonID: String, accountID: String) -> HMAC<SHA256> {
        let name = addonID + "|" + accountID
        if let keyed = keys.withLock({ $0[name] }) { return keyed }
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, info: Data("switchboard.pseudonym|\(name)".utf8), outputByteCount: 32)
        let keyed = HMAC<SHA256>(key: key)
        keys.withLock { keys in
            if keys.count > 100_000 { keys.removeAll(keepingCapacity: true) }
            keys[name] = keyed
        }
        return keyed
    }

    public func token(_ value: String, addonID: String, accountID: String) -> String {
        var mac = keyed(addonID: addonID, accountID: accountID)
        var value = value
        value.withUTF8 { mac.update(data: UnsafeRawBufferPointer($0)) }
        return "psn_" + mac.finalize().prefix(16).hexString
    }
}
