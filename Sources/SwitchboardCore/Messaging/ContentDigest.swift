import Crypto
import Foundation

/// Keyed digest of message bodies for accounts whose `content_mode` is `hash`: equal bodies give equal
/// digests (so duplicates can still be found), but without the host key a digest reveals nothing.
public struct ContentDigest: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    public func digest(_ body: String, accountID: String) -> String {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Data(accountID.utf8))
        hmac.update(data: [0])
        hmac.update(data: Data(body.utf8))
        return "hmac-sha256:" + Data(hmac.finalize()).hexString
    }
}
