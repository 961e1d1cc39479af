import Foundation
import Synchronization

/// Recently verified `Authorization` headers (API keys and session tokens), so that a client sending
/// thousands of requests per second costs a dictionary lookup per request instead of a hash and a
/// database read. Only successes are kept, briefly: revoking a key, ending a session or erasing an
/// account in this daemon drops the account's entries at once, and a change made by another process
/// (a command-line tool on the same data) takes effect within `lifetime`. Password hashing (scrypt)
/// is never on this path: keys and session tokens are random 256-bit secrets stored as SHA-256.
final class CredentialCache: Sendable {
    private struct Entry {
        var principal: Principal
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let lifetime: Duration
    private let capacity: Int

    init(lifetime: Duration = .seconds(5), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// Keyed by the request's whole `Authorization` header, which a client repeats byte for byte: a
    /// hit skips decoding the header, hashing the key and the database read.
    func principal(authorization: String) -> Principal? {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[authorization] else { return nil }
            if entry.expires > now { return entry.principal }
            entries[authorization] = nil
            return nil
        }
    }

    /// Remembers a verified header for `lifetime`, or for `atMost` when that is shorter (a session
    /// that ends sooner).
    func remember(_ principal: Principal, authorization: String, atMost: Duration? = nil) {
        let expires = ContinuousClock.now + min(lifetime, atMost ?? lifetime)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[authorization] = Entry(principal: principal, expires: expires)
        }
    }

    /// Forgets every key of the account (a key revoked, the account erased or closed).
    func forget(accountID: String) {
        entries.withLock { entries in
            entries = entries.filter { $0.value.principal.accountID != accountID }
        }
    }
}
