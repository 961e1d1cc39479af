import Foundation
import GRDB
import Synchronization

/// A password hash of nobody's password, made once with the hasher's own cost, for sign-ins whose
/// email matches no active account: verifying against it costs what verifying a real password
/// costs, so the answer's timing does not tell whether an email has an account.
final class DecoyPasswordHash: Sendable {
    private let stored = Mutex<String?>(nil)

    /// The decoy, made on first use (inside the hashing pool, like any hash).
    func value(_ hasher: PasswordHasher) throws -> String {
        if let known = stored.withLock({ $0 }) { return known }
        let made = try hasher.hash(Identifier.randomToken(bytes: 24))
        return stored.withLock { current in
            if let current { return current }
            current = made
            return made
        }
    }
}

extension AccountStore {
    /// The sign-in use case: the active account whose email (compared without case) and password
    /// these are, or nil.
    ///
    /// **Every sign-in costs one scrypt verification.** An unknown email, an erased or closed
    /// account and a wrong password all take the same path: one indexed read, then one verification
    /// in ``hashing`` (against a decoy hash of the same cost when there is no real one), so neither
    /// the answer nor its timing tells an email with an account from one without (OWASP
    /// Authentication Cheat Sheet, "Authentication Responses"). Before this, an unknown email was
    /// answered in 1–10 ms and a wrong password in 100–140 ms.
    /// - Throws: `PasswordHashingPool.Busy` when hashing is at capacity (nothing was checked); a
    ///   storage error.
    public func signIn(email: String, password: String) async throws -> Account? {
        let found = try await writer.pool.read { db -> (Account, String?)? in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: AccountStore.byEmailSQL), arguments: AccountStore.byEmailArguments(email))
            else { return nil }
            return (try Account(row: row), row["password_hash"])
        }
        let account = found?.0
        let stored = account?.isActive == true ? found?.1 : nil
        let hasher = self.hasher
        let decoy = self.decoy
        let matches = try await hashing.run { () throws -> Bool in
            guard let stored else {
                _ = hasher.verify(password, against: try decoy.value(hasher))
                return false
            }
            return hasher.verify(password, against: stored)
        }
        return matches ? account : nil
    }
}
