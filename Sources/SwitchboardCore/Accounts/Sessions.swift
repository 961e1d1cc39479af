import Foundation
import GRDB

/// How long a sign-in lasts and how many an account may hold.
public struct SessionPolicy: Sendable, Equatable {
    /// Seconds from sign-in until the session token stops working (default 12 hours).
    public var lifetimeSeconds: Int
    /// Live sessions per account; a sign-in beyond this ends the oldest (default 10).
    public var maxPerAccount: Int

    public init(lifetimeSeconds: Int = 43_200, maxPerAccount: Int = 10) {
        precondition(lifetimeSeconds >= 1 && maxPerAccount >= 1, "a session must last and an account hold one")
        self.lifetimeSeconds = lifetimeSeconds
        self.maxPerAccount = maxPerAccount
    }
}

/// A live sign-in, as listed to its account. The token itself is never stored, only its SHA-256.
public struct SessionInfo: Sendable, Equatable, FetchableRecord {
    /// `ses_…`: names the session in lists and in `DELETE /v1/account/sessions/{id}`.
    public var id: String
    public var accountID: String
    /// Epoch milliseconds.
    public var createdAt: Int64
    /// Epoch milliseconds; the token is refused from then on.
    public var expiresAt: Int64
    /// Epoch milliseconds of the last authenticated request, updated at most once a minute.
    public var lastUsedAt: Int64?

    public init(row: Row) throws {
        id = row["id"]
        accountID = row["account_id"]
        createdAt = row["created_at"]
        expiresAt = row["expires_at"]
        lastUsedAt = row["last_used_at"]
    }
}

/// A fresh session: the token (`sess_` and 43 URL-safe characters, 256 random bits) is shown once.
public struct NewSession: Sendable {
    public var info: SessionInfo
    public var token: String
}

extension AccountStore {
    /// The prefix of every session token, which tells it from an API key (`sk_`).
    public static let sessionTokenPrefix = "sess_"

    /// Starts a session for an account that just proved its password, ending expired sessions and,
    /// beyond `SessionPolicy.maxPerAccount`, the account's oldest.
    /// - Throws: a storage error (the insert is refused for an erased account).
    public func startSession(accountID: String) async throws -> NewSession {
        let id = Identifier.make("ses", bytes: 9)
        let token = Self.sessionTokenPrefix + Identifier.randomToken(bytes: 32)
        let now = clock.now().epochMillis
        let expires = now + Int64(sessionPolicy.lifetimeSeconds) * 1000
        let keep = sessionPolicy.maxPerAccount
        let info = try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM sessions WHERE expires_at <= ?").execute(arguments: [now])
            try db.cachedStatement(
                sql: """
                    INSERT INTO sessions (id, account_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [id, accountID, token.sha256Hex, now, expires])
            try db.cachedStatement(
                sql: """
                    DELETE FROM sessions WHERE account_id = ? AND id NOT IN (
                        SELECT id FROM sessions WHERE account_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)
                    """
            ).execute(arguments: [accountID, accountID, keep])
            return try SessionInfo.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM sessions WHERE id = ?"), arguments: [id])!
        }
        // A session ended to make room may sit in the cache of verified headers: drop it now.
        credentials.forget(accountID: accountID)
        return NewSession(info: info, token: token)
    }

    /// The account's live sessions, newest first.
    public func sessions(accountID: String) async throws -> [SessionInfo] {
        let now = clock.now().epochMillis
        return try await writer.pool.read { db in
            try SessionInfo.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM sessions WHERE account_id = ? AND expires_at > ?
                        ORDER BY created_at DESC, rowid DESC
                        """), arguments: [accountID, now])
        }
    }

    /// Ends a session of this account at once; false when it has no such live session.
    public func endSession(accountID: String, sessionID: String) async throws -> Bool {
        let now = clock.now().epochMillis
        defer { credentials.forget(accountID: accountID) }
        return try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM sessions WHERE id = ? AND account_id = ? AND expires_at > ?")
                .execute(arguments: [sessionID, accountID, now])
            return db.changesCount > 0
        }
    }

    /// Ends every API sign-in session of the account at once ("sign out everywhere"); API keys stay.
    /// - Returns: how many ended.
    @discardableResult
    public func endAllSessions(accountID: String) async throws -> Int {
        defer { credentials.forget(accountID: accountID) }
        return try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM sessions WHERE account_id = ?").execute(arguments: [accountID])
            return db.changesCount
        }
    }

    /// The principal for a session token, or nil when it is no live session of an active account
    /// (of `accountID`, when the token came with one in HTTP Basic).
    func authenticateSession(token: String, accountID: String?) async throws -> (Principal, expires: Int64)? {
        let hash = token.sha256Hex
        let now = clock.now().epochMillis
        return try await writer.pool.read { db in
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT s.id, s.account_id, s.expires_at FROM sessions s JOIN accounts a ON a.id = s.account_id
                        WHERE s.token_hash = ? AND s.expires_at > ? AND a.status = 'active'
                        """), arguments: [hash, now])
            guard let row else { return nil }
            let owner: String = row["account_id"]
            if let accountID, accountID != owner { return nil }
            return (Principal(accountID: owner, keyID: row["id"], credential: .session), row["expires_at"])
        }
    }
}
