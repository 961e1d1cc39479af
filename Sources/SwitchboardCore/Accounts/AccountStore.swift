import Foundation
import GRDB

/// Accounts, their API keys and their numbers. All writes go through the group-commit writer.
public struct AccountStore: Sendable {
    package let writer: GroupCommitWriter
    let clock: any WallClock
    let hasher: PasswordHasher
    let events: any DomainEventSink
    public let policy = PasswordPolicy()
    private let loginRecorder = LoginRecorder()
    let credentials = CredentialCache()
    /// Where every password hash and verification runs, bounded (``PasswordHashingPool``).
    public let hashing: PasswordHashingPool
    public let sessionPolicy: SessionPolicy
    let decoy = DecoyPasswordHash()

    public struct NewAccount: Sendable {
        public var name: String
        public var email: String
        public var company: String?
        public var password: String

        public init(name: String, email: String, company: String?, password: String) {
            self.name = name
            self.email = email
            self.company = company
            self.password = password
        }
    }

    public struct Created: Sendable {
        public var account: Account
        public var apiKey: String
        public var apiKeyID: String
    }

    public enum Failure: Error, Equatable {
        case emailTaken
    }

    public init(
        writer: GroupCommitWriter, clock: any WallClock, hasher: PasswordHasher,
        events: any DomainEventSink = NoAddons(), hashing: PasswordHashingPool = PasswordHashingPool(),
        sessions: SessionPolicy = SessionPolicy()
    ) {
        self.writer = writer
        self.clock = clock
        self.hasher = hasher
        self.events = events
        self.hashing = hashing
        self.sessionPolicy = sessions
    }

    /// Creates the account with its first API key. The password must already have passed the policy.
    /// - Throws: `Failure.emailTaken`; `PasswordHashingPool.Busy` when hashing is at capacity; a
    ///   storage error.
    public func create(_ new: NewAccount) async throws -> Created {
        let passwordHash = try await hash(new.password)
        let now = clock.now().epochMillis
        let id = Identifier.make("acc", bytes: 9)
        let key = APIKeyMaterial.generate()
        let webhookSecret = "whsec_" + Identifier.randomToken(bytes: 24)
        let email = EmailAddress.key(new.email)
        do {
            try await writer.write { db in
                try db.cachedStatement(
                    sql: """
                        INSERT INTO accounts (id, name, email, company, password_hash, webhook_secret, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [id, new.name, email, new.company, passwordHash, webhookSecret, now, now])
                try Self.insertKey(db, key: key, accountID: id, name: "default", now: now)
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw Failure.emailTaken
        }
        let account = try await find(id: id)!
        return Created(account: account, apiKey: key.secret, apiKeyID: key.id)
    }

    public func find(id: String) async throws -> Account? {
        try await writer.pool.read { db in
            try Account.fetchOne(db.cachedStatement(sql: "SELECT * FROM accounts WHERE id = ?"), arguments: [id])
        }
    }

    public func find(email: String) async throws -> Account? {
        try await writer.pool.read { db in
            try Account.fetchOne(
                db.cachedStatement(sql: Self.byEmailSQL), arguments: Self.byEmailArguments(email))
        }
    }

    /// The account with an address, in its stored form (`EmailAddress.key`) or, for an account
    /// created before addresses were stored in NFC, as it was typed then (lower case alone).
    static let byEmailSQL = "SELECT * FROM accounts WHERE email IN (?, ?) ORDER BY email = ? DESC LIMIT 1"
    static func byEmailArguments(_ email: String) -> StatementArguments {
        let key = EmailAddress.key(email)
        return [key, email.lowercased(), key]
    }

    public func list(limit: Int = 100, after: String? = nil) async throws -> [Account] {
        try await writer.pool.read { db in
            try Account.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM accounts WHERE id > ? ORDER BY id LIMIT ?"),
                arguments: [after ?? "", limit])
        }
    }

    public struct Changes: Sendable {
        public var name: String?
        public var email: String?
        public var company: String??
        public var contentMode: ContentMode?
        public var newPassword: String?
        /// `.some(nil)` clears the account's inbound webhook.
        public var inboundWebhook: String??

        public init() {}
    }

    public func update(id: String, _ changes: Changes) async throws -> Account {
        let passwordHash: String?
        if let password = changes.newPassword { passwordHash = try await hash(password) } else { passwordHash = nil }
        let now = clock.now().epochMillis
        let events = self.events
        do {
            try await writer.write { db in
                var sets: [String] = ["updated_at = ?"]
                var arguments: StatementArguments = [now]
                if let name = changes.name { sets.append("name = ?"); arguments += [name] }
                if let email = changes.email { sets.append("email = ?"); arguments += [EmailAddress.key(email)] }
                if let company = changes.company { sets.append("company = ?"); arguments += [company] }
                if let webhook = changes.inboundWebhook { sets.append("inbound_webhook = ?"); arguments += [webhook] }
                if let mode = changes.contentMode {
                    sets.append("content_mode = ?")
                    arguments += [mode.rawValue]
                    events.contentModeChanges(db, accountID: id)
                }
                if let passwordHash {
                    sets.append("password_hash = ?")
                    arguments += [passwordHash]
                    // A new password ends every sign-in made with the old one, in the API and in the
                    // console (API keys stay).
                    try db.execute(sql: "DELETE FROM sessions WHERE account_id = ?", arguments: [id])
                    try db.execute(sql: "DELETE FROM console_sessions WHERE account_id = ?", arguments: [id])
                }
                arguments += [id]
                try db.execute(
                    sql: "UPDATE accounts SET \(sets.joined(separator: ", ")) WHERE id = ?", arguments: arguments)
                if changes.name != nil || changes.email != nil || changes.company != nil,
                    let account = try Account.fetchOne(
                        db.cachedStatement(sql: "SELECT * FROM accounts WHERE id = ?"), arguments: [id])
                {
                    try events.publish(db, .accountChanged, accountID: account.id) { .accountChanged(account) }
                }
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw Failure.emailTaken
        }
        if passwordHash != nil { credentials.forget(accountID: id) }
        return try await find(id: id)!
    }

    /// Whether `password` is the account's; false for an unknown account or one without a password.
    /// The hash runs in ``hashing``.
    /// - Throws: `PasswordHashingPool.Busy` when hashing is at capacity; a storage error.
    public func passwordMatches(accountID: String, password: String) async throws -> Bool {
        let stored = try await writer.pool.read { db in
            try String.fetchOne(
                db.cachedStatement(sql: "SELECT password_hash FROM accounts WHERE id = ?"), arguments: [accountID])
        }
        guard let stored else { return false }
        let hasher = self.hasher
        return try await hashing.run { hasher.verify(password, against: stored) }
    }

    /// Hashes a new password in ``hashing``.
    func hash(_ password: String) async throws -> String {
        let hasher = self.hasher
        return try await hashing.run { try hasher.hash(password) }
    }

    /// Records the time and address of a successful authentication: a password sign-in
    /// (`principal` nil) or a request with an API key or session. Writes at most once a minute per
    /// credential and address, so authenticated traffic does not turn into a write per request.
    public func recordLogin(accountID: String, principal: Principal?, ip: String?) {
        let now = clock.now()
        guard loginRecorder.shouldRecord(key: "\(accountID)|\(principal?.keyID ?? "-")|\(ip ?? "-")", at: now)
        else { return }
        let millis = now.epochMillis
        writer.writeDetached { db in
            try db.cachedStatement(sql: "UPDATE accounts SET last_login_at = ?, last_login_ip = ? WHERE id = ?")
                .execute(arguments: [millis, ip, accountID])
            switch principal?.credential {
            case .apiKey?:
                try db.cachedStatement(sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ?")
                    .execute(arguments: [millis, principal?.keyID])
            case .session?:
                try db.cachedStatement(sql: "UPDATE sessions SET last_used_at = ? WHERE id = ?")
                    .execute(arguments: [millis, principal?.keyID])
            case .console?, nil:
                break
            }
        }
    }

    /// Sets the operator legal hold of an active account; returns the account as it now is,
    /// unchanged when it is erased (there is nothing left to hold), nil when unknown. The status is
    /// checked in the same statement, so a hold never lands on an account erased a moment before.
    /// Lifting a hold is ``ErasureService/liftLegalHold(accountID:)``: it may carry out a deletion.
    public func setLegalHold(accountID: String, reason: String) async throws -> Account? {
        let now = clock.now().epochMillis
        try await writer.write { db in
            try db.cachedStatement(
                sql: "UPDATE accounts SET legal_hold_reason = ?, updated_at = ? WHERE id = ? AND status = 'active'"
            )
            .execute(arguments: [reason, now, accountID])
        }
        return try await find(id: accountID)
    }
}
