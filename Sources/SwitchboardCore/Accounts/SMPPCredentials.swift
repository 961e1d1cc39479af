import Crypto
import Foundation
import GRDB

/// SMPP credentials a customer's ESME binds with: a system_id and a password, made by the platform.
///
/// SMPP 3.4 §4.1.1 allows a system_id of at most 15 characters and a password of at most 8, so
/// neither the account id (16 characters) nor an API key can serve. The password is random (8
/// characters of 62, about 47 bits), shown once and stored hashed like account passwords (scrypt,
/// in the shared `PasswordHashingPool`); a bind is rare, so its cost is paid once per session.
public struct SMPPCredentials: Sendable {
    let writer: GroupCommitWriter
    let clock: any WallClock
    let hasher: PasswordHasher
    let hashing: PasswordHashingPool
    let decoy = DecoyPasswordHash()

    package init(writer: GroupCommitWriter, clock: any WallClock, hasher: PasswordHasher, hashing: PasswordHashingPool)
    {
        self.writer = writer
        self.clock = clock
        self.hasher = hasher
        self.hashing = hashing
    }

    /// A credential as listed (never with its password).
    public struct Credential: Sendable, Equatable {
        public var systemID: String
        public var accountID: String
        public var createdAt: Int64
        public var revokedAt: Int64?
    }

    /// Credentials an account may hold at once.
    public static let maxPerAccount = 10

    /// Why a credential was not made.
    public enum Failure: Error, Equatable {
        case tooMany(Int)
    }

    private static let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")

    private static func random(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// Makes a credential; returns it with its password (shown once).
    /// - Throws: `Failure.tooMany` beyond `maxPerAccount` active credentials; `PasswordHashingPool.Busy`;
    ///   a storage error.
    public func create(accountID: String) async throws -> (credential: Credential, password: String) {
        let password = Self.random(8)
        let hasher = self.hasher
        let hash = try await hashing.run { try hasher.hash(password) }
        let systemID = "sb" + Self.random(13)
        let now = clock.now().epochMillis
        try await writer.write { db in
            let active =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM smpp_credentials WHERE account_id = ? AND revoked_at IS NULL",
                    arguments: [accountID]) ?? 0
            guard active < Self.maxPerAccount else { throw Failure.tooMany(Self.maxPerAccount) }
            try db.execute(
                sql: """
                    INSERT INTO smpp_credentials (system_id, account_id, password_hash, created_at)
                    VALUES (?, ?, ?, ?)
                    """, arguments: [systemID, accountID, hash, now])
        }
        return (Credential(systemID: systemID, accountID: accountID, createdAt: now, revokedAt: nil), password)
    }

    public func list(accountID: String) async throws -> [Credential] {
        try await writer.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM smpp_credentials WHERE account_id = ? ORDER BY created_at",
                arguments: [accountID]
            ).map {
                Credential(
                    systemID: $0["system_id"], accountID: $0["account_id"], createdAt: $0["created_at"],
                    revokedAt: $0["revoked_at"])
            }
        }
    }

    /// Revokes a credential; false when the account has no such active credential. Binds made with
    /// it are closed by the SMPP server within a second.
    public func revoke(accountID: String, systemID: String) async throws -> Bool {
        let now = clock.now().epochMillis
        return try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE smpp_credentials SET revoked_at = ? WHERE system_id = ? AND account_id = ?
                    AND revoked_at IS NULL
                    """, arguments: [now, systemID, accountID])
            return db.changesCount > 0
        }
    }

    /// The account a bind with `systemID` and `password` authenticates as; nil when the credential
    /// is unknown, revoked, its account not active, or the password wrong (an unknown system_id
    /// is checked against a decoy hash (`DecoyPasswordHash`, as for sign-in), so the answer takes as long either way).
    /// - Throws: `PasswordHashingPool.Busy`; a storage error.
    public func authenticate(systemID: String, password: String) async throws -> String? {
        let found: (account: String, hash: String)? = try await writer.pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT c.account_id, c.password_hash FROM smpp_credentials c JOIN accounts a ON a.id = c.account_id
                    WHERE c.system_id = ? AND c.revoked_at IS NULL AND a.status = 'active'
                    """, arguments: [systemID]
            ).map { ($0["account_id"], $0["password_hash"]) }
        }
        let hasher = self.hasher
        let decoy = self.decoy
        let valid = try await hashing.run { () throws -> Bool in
            hasher.verify(password, against: try found?.hash ?? decoy.value(hasher))
        }
        guard valid, let found else { return nil }
        return found.account
    }

    /// Whether `systemID` is still an active credential of an active account (checked while bound).
    public func isActive(systemID: String) async throws -> Bool {
        try await writer.pool.read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT 1 FROM smpp_credentials c JOIN accounts a ON a.id = c.account_id
                    WHERE c.system_id = ? AND c.revoked_at IS NULL AND a.status = 'active'
                    """, arguments: [systemID]) ?? false
        }
    }
}
