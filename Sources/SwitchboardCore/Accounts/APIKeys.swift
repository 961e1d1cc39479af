import Foundation
import GRDB

/// A freshly generated API key: the secret is shown once; only its SHA-256 is stored.
struct APIKeyMaterial: Sendable {
    let id: String
    let secret: String

    static func generate() -> APIKeyMaterial {
        APIKeyMaterial(id: Identifier.make("key", bytes: 9), secret: "sk_" + Identifier.randomToken(bytes: 32))
    }

    var prefix: String { String(secret.prefix(10)) }
}

/// What valid credentials authenticate as: an account, and the API key or session that proved it.
public struct Principal: Sendable, Equatable {
    /// Which kind of credential authenticated the request.
    public enum Credential: Sendable, Equatable {
        /// A permanent API key (`sk_…`, id `key_…`).
        case apiKey
        /// A sign-in session from `POST /v1/login` (`sess_…`, id `ses_…`).
        case session
        /// A web console sign-in (a cookie; id `cs_…`).
        case console
    }

    public var accountID: String
    /// The id of the API key (`key_…`) or session (`ses_…`) that authenticated.
    public var keyID: String
    public var credential: Credential

    public init(accountID: String, keyID: String, credential: Credential = .apiKey) {
        self.accountID = accountID
        self.keyID = keyID
        self.credential = credential
    }
}

extension AccountStore {
    static func insertKey(_ db: Database, key: APIKeyMaterial, accountID: String, name: String, now: Int64) throws {
        try db.cachedStatement(
            sql:
                "INSERT INTO api_keys (id, account_id, name, secret_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [key.id, accountID, name, key.secret.sha256Hex, key.prefix, now])
    }

    public struct NewKey: Sendable {
        public var info: APIKeyInfo
        public var secret: String
    }

    public func createKey(accountID: String, name: String) async throws -> NewKey {
        let key = APIKeyMaterial.generate()
        let now = clock.now().epochMillis
        let info = try await writer.write { db in
            try Self.insertKey(db, key: key, accountID: accountID, name: name, now: now)
            return try APIKeyInfo.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM api_keys WHERE id = ?"), arguments: [key.id])!
        }
        return NewKey(info: info, secret: key.secret)
    }

    public func keys(accountID: String) async throws -> [APIKeyInfo] {
        try await writer.pool.read { db in
            try APIKeyInfo.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at, id"),
                arguments: [accountID])
        }
    }

    /// Revokes a key of this account; false when the account has no such key.
    public func revokeKey(accountID: String, keyID: String) async throws -> Bool {
        let now = clock.now().epochMillis
        defer { credentials.forget(accountID: accountID) }
        return try await writer.write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND account_id = ?
                    """
            ).execute(arguments: [now, keyID, accountID])
            return db.changesCount > 0
        }
    }

    /// A principal this daemon verified for exactly this `Authorization` header within the last few
    /// seconds, or nil. A dictionary lookup: no hash, no database read.
    public func knownPrincipal(authorization header: String) -> Principal? {
        credentials.principal(authorization: header)
    }

    /// The principal for an `Authorization` header, or nil when it names no live credential of an
    /// active account. Accepted forms:
    /// - `Basic base64(account_id:api_key)` (RFC 7617), the API key an `sk_…` secret;
    /// - `Basic base64(account_id:session_token)`, the token a `sess_…` from `POST /v1/login`;
    /// - `Bearer session_token` (RFC 6750 section 2.1).
    ///
    /// Both kinds of secret are 256 random bits stored as SHA-256, so checking one costs a hash and
    /// one indexed read, never scrypt. Verified headers are remembered briefly (`CredentialCache`).
    public func authenticate(authorization header: String) async throws -> Principal? {
        if let known = credentials.principal(authorization: header) { return known }
        if let token = BasicCredentials.bearerToken(header) {
            guard token.hasPrefix(Self.sessionTokenPrefix),
                let (principal, expires) = try await authenticateSession(token: token, accountID: nil)
            else { return nil }
            credentials.remember(
                principal, authorization: header, atMost: .milliseconds(expires - clock.now().epochMillis))
            return principal
        }
        guard let (accountID, secret) = BasicCredentials.parse(header) else { return nil }
        if secret.hasPrefix(Self.sessionTokenPrefix) {
            guard let (principal, expires) = try await authenticateSession(token: secret, accountID: accountID)
            else { return nil }
            credentials.remember(
                principal, authorization: header, atMost: .milliseconds(expires - clock.now().epochMillis))
            return principal
        }
        guard let principal = try await authenticate(accountID: accountID, secret: secret) else { return nil }
        credentials.remember(principal, authorization: header)
        return principal
    }

    /// The principal for `accountID:secret`, or nil when the pair is not a live key of an active account.
    public func authenticate(accountID: String, secret: String) async throws -> Principal? {
        let hash = secret.sha256Hex
        return try await writer.pool.read { db in
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT k.id FROM api_keys k JOIN accounts a ON a.id = k.account_id
                        WHERE k.secret_hash = ? AND k.account_id = ? AND k.revoked_at IS NULL AND a.status = 'active'
                        """), arguments: [hash, accountID])
            return row.map { Principal(accountID: accountID, keyID: $0["id"]) }
        }
    }
}
