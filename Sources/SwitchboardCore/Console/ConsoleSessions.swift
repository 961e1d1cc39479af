import Foundation
import GRDB

/// How long a console sign-in lasts (OWASP Session Management Cheat Sheet, "Session Expiration").
public struct ConsoleSessionPolicy: Sendable, Equatable {
    /// Seconds without a request after which the session ends (default 30 minutes).
    public var idleSeconds: Int
    /// Seconds from sign-in after which the session ends however busy (default 12 hours).
    public var absoluteSeconds: Int

    public init(idleSeconds: Int = 1800, absoluteSeconds: Int = 43_200) {
        precondition(
            idleSeconds >= 1 && absoluteSeconds >= idleSeconds, "idle must be at least 1 s and within absolute")
        self.idleSeconds = idleSeconds
        self.absoluteSeconds = absoluteSeconds
    }
}

/// A console sign-in as the console sees it on each request.
public struct ConsoleSession: Sendable, Equatable {
    /// Who signed in: a customer (an account) or the operator (the daemon's operator token).
    public enum Role: String, Sendable { case customer, `operator` }

    /// How far the sign-in got. Only `active` sessions reach pages with data.
    public enum Stage: String, Sendable {
        /// The password was right; a second factor is due (new browser or country).
        case secondFactor = "second_factor"
        /// The password was right and the account has no second factor yet: it must enrol one.
        case enrol
        /// Signed in.
        case active
    }

    /// `cs_…`.
    public var id: String
    public var accountID: String?
    public var role: Role
    /// The synchronizer token every form of this session carries (OWASP CSRF Prevention Cheat Sheet).
    public var csrfToken: String
    public var stage: Stage
    /// SHA-256 of the browser's device cookie, when it sent one; for an operator's session, of the
    /// operator token it signed in with.
    public var deviceHash: String?
    /// ISO 3166-1 alpha-2 code of the sign-in address, or `--` when unknown.
    public var country: String
    /// Epoch milliseconds.
    public var createdAt: Int64
    public var lastSeenAt: Int64
    public var expiresAt: Int64
    /// When an SMS sign-in code was sent and not yet used, its expiry (epoch ms).
    public var challengeExpiresAt: Int64?

    init(row: Row) {
        id = row["id"]
        accountID = row["account_id"]
        role = Role(rawValue: row["role"]) ?? .customer
        csrfToken = row["csrf_token"]
        stage = Stage(rawValue: row["stage"]) ?? .secondFactor
        deviceHash = row["device_hash"]
        country = row["country"]
        createdAt = row["created_at"]
        lastSeenAt = row["last_seen_at"]
        expiresAt = row["expires_at"]
        challengeExpiresAt = row["challenge_expires_at"]
    }
}

/// Console sign-in sessions: cookie tokens stored as SHA-256, ended by idle time, by absolute age,
/// by signing out, by "sign out everywhere" and by erasure of the account.
public struct ConsoleSessions: Sendable {
    let writer: GroupCommitWriter
    let clock: any WallClock
    public let policy: ConsoleSessionPolicy

    /// The prefix of a console cookie's token.
    public static let tokenPrefix = "cons_"
    /// Wrong SMS codes a session may try before it must sign in again.
    public static let maxChallengeAttempts = 5

    public init(writer: GroupCommitWriter, clock: any WallClock, policy: ConsoleSessionPolicy = ConsoleSessionPolicy())
    {
        self.writer = writer
        self.clock = clock
        self.policy = policy
    }

    /// Starts a session after a right password (or the operator token), ending expired ones.
    /// - Returns: the session and its token (`cons_` + 43 characters, 256 random bits), which only
    ///   the cookie holds.
    /// - Throws: a storage error (the insert is refused for an erased account).
    public func start(
        accountID: String?, role: ConsoleSession.Role, stage: ConsoleSession.Stage, deviceHash: String?,
        country: String, address: String?
    ) async throws -> (session: ConsoleSession, token: String) {
        let id = Identifier.make("cs", bytes: 9)
        let token = Self.tokenPrefix + Identifier.randomToken(bytes: 32)
        let csrf = Identifier.randomToken(bytes: 24)
        let now = clock.now().epochMillis
        let expires = now + Int64(policy.absoluteSeconds) * 1000
        let idleCutoff = now - Int64(policy.idleSeconds) * 1000
        let session = try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen_at <= ?")
                .execute(arguments: [now, idleCutoff])
            try db.cachedStatement(
                sql: """
                    INSERT INTO console_sessions (id, account_id, role, token_hash, csrf_token, stage, device_hash,
                        country, address, created_at, last_seen_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                id, accountID, role.rawValue, token.sha256Hex, csrf, stage.rawValue, deviceHash, country, address, now,
                now, expires,
            ])
            return try ConsoleSession(
                row: Row.fetchOne(
                    db.cachedStatement(sql: "SELECT * FROM console_sessions WHERE id = ?"), arguments: [id])!)
        }
        return (session, token)
    }

    /// The live session for a cookie token, its idle clock restarted; nil when there is none, it
    /// sat idle too long, it is past its absolute expiry, or its account is no longer active.
    public func authenticate(token: String) async throws -> ConsoleSession? {
        guard token.hasPrefix(Self.tokenPrefix) else { return nil }
        let now = clock.now().epochMillis
        let idleCutoff = now - Int64(policy.idleSeconds) * 1000
        let hash = token.sha256Hex
        return try await writer.write { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT s.* FROM console_sessions s LEFT JOIN accounts a ON a.id = s.account_id
                            WHERE s.token_hash = ? AND s.expires_at > ? AND s.last_seen_at > ?
                              AND (s.account_id IS NULL OR a.status = 'active')
                            """), arguments: [hash, now, idleCutoff])
            else { return nil }
            var session = ConsoleSession(row: row)
            try db.cachedStatement(sql: "UPDATE console_sessions SET last_seen_at = ? WHERE id = ?")
                .execute(arguments: [now, session.id])
            session.lastSeenAt = now
            return session
        }
    }

    /// Moves a session to `stage` under a new token (and CSRF token), so a token seen before the
    /// second factor cannot ride on the signed-in session (session fixation, OWASP).
    /// - Returns: the new token; nil when the session has ended.
    public func advance(sessionID: String, to stage: ConsoleSession.Stage) async throws -> String? {
        let token = Self.tokenPrefix + Identifier.randomToken(bytes: 32)
        let csrf = Identifier.randomToken(bytes: 24)
        let now = clock.now().epochMillis
        return try await writer.write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE console_sessions SET stage = ?, token_hash = ?, csrf_token = ?, challenge_hash = NULL,
                        challenge_expires_at = NULL, challenge_attempts = 0, last_seen_at = ?
                    WHERE id = ?
                    """
            ).execute(arguments: [stage.rawValue, token.sha256Hex, csrf, now, sessionID])
            return db.changesCount > 0 ? token : nil
        }
    }

    /// Ends one session (sign out).
    public func end(sessionID: String) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM console_sessions WHERE id = ?").execute(arguments: [sessionID])
        }
    }

    /// Ends every console session of an account (half of "sign out everywhere"; the API's sign-in
    /// sessions end with `AccountStore.endAllSessions`).
    /// - Returns: how many sessions ended.
    @discardableResult
    public func endAll(accountID: String) async throws -> Int {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM console_sessions WHERE account_id = ?")
                .execute(arguments: [accountID])
            return db.changesCount
        }
    }

    /// The account's live console sessions, newest first.
    public func list(accountID: String) async throws -> [ConsoleSession] {
        let now = clock.now().epochMillis
        let idleCutoff = now - Int64(policy.idleSeconds) * 1000
        return try await writer.pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM console_sessions WHERE account_id = ? AND expires_at > ? AND last_seen_at > ?
                        ORDER BY created_at DESC
                        """), arguments: [accountID, now, idleCutoff]
            ).map(ConsoleSession.init(row:))
        }
    }

    /// Keeps the SHA-256 of a sign-in code sent by SMS, valid for `seconds`, replacing any earlier one.
    public func setChallenge(sessionID: String, code: String, seconds: Int) async throws {
        let expires = clock.now().epochMillis + Int64(seconds) * 1000
        try await writer.write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE console_sessions SET challenge_hash = ?, challenge_expires_at = ?, challenge_attempts = 0
                    WHERE id = ?
                    """
            ).execute(arguments: [code.sha256Hex, expires, sessionID])
        }
    }

    /// The outcome of entering an SMS code.
    public enum ChallengeAnswer: Sendable, Equatable {
        case accepted
        case wrong(attemptsLeft: Int)
        /// Expired, never sent, or too many wrong attempts: a new code must be sent.
        case spent
    }

    /// Checks an SMS sign-in code; a right code is used up, a wrong one counts against
    /// ``maxChallengeAttempts``.
    public func answerChallenge(sessionID: String, code: String) async throws -> ChallengeAnswer {
        let now = clock.now().epochMillis
        let cleaned = code.filter { !$0.isWhitespace }
        return try await writer.write { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT challenge_hash, challenge_expires_at, challenge_attempts FROM console_sessions
                            WHERE id = ?
                            """), arguments: [sessionID]),
                let hash: String = row["challenge_hash"], let expires: Int64 = row["challenge_expires_at"],
                expires > now, (row["challenge_attempts"] as Int) < Self.maxChallengeAttempts
            else { return .spent }
            if constantTimeEqual(cleaned.sha256Hex, hash) {
                try db.cachedStatement(
                    sql: "UPDATE console_sessions SET challenge_hash = NULL, challenge_expires_at = NULL WHERE id = ?"
                ).execute(arguments: [sessionID])
                return .accepted
            }
            try db.cachedStatement(
                sql: "UPDATE console_sessions SET challenge_attempts = challenge_attempts + 1 WHERE id = ?"
            ).execute(arguments: [sessionID])
            let left = Self.maxChallengeAttempts - (row["challenge_attempts"] as Int) - 1
            return left > 0 ? .wrong(attemptsLeft: left) : .spent
        }
    }
}
