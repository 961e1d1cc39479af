import GRDB

/// What the platform keeps of message bodies (the customer's privacy setting).
public enum ContentMode: String, Sendable, Codable, CaseIterable {
    /// Bodies are kept as sent.
    case store
    /// Once a message reaches its final status only a keyed digest of its body is kept.
    case hash
    /// Once a message reaches its final status its body is dropped.
    case hide
}

/// Whether an account can be used (`accounts.status`).
public enum AccountStatus: String, Sendable, Codable {
    case active
    /// Personal data erased and the account closed (GDPR article 17); records kept by law remain.
    case erased
}

public struct Account: Sendable, Equatable {
    public var id: String
    public var name: String?
    public var email: String?
    public var company: String?
    public var contentMode: ContentMode
    public var status: AccountStatus
    public var legalHoldReason: String?
    public var webhookSecret: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var lastLoginAt: Int64?
    public var lastLoginIP: String?
    public var erasedAt: Int64?
    /// Where inbound messages to the account's numbers without a webhook of their own are posted.
    public var inboundWebhook: String?
    /// When the customer asked for the account's deletion while a legal hold kept it (ms since the
    /// epoch); lifting the hold carries the deletion out.
    public var erasureRequestedAt: Int64?

    public var isActive: Bool { status == .active }
}

extension Account: FetchableRecord {
    public init(row: Row) throws {
        id = row["id"]
        name = row["name"]
        email = row["email"]
        company = row["company"]
        contentMode = ContentMode(rawValue: row["content_mode"]) ?? .store
        let status: String = row["status"]
        // An unknown status is never read as active.
        self.status = AccountStatus(rawValue: status) ?? .erased
        legalHoldReason = row["legal_hold_reason"]
        webhookSecret = row["webhook_secret"]
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
        lastLoginAt = row["last_login_at"]
        lastLoginIP = row["last_login_ip"]
        erasedAt = row["erased_at"]
        inboundWebhook = row["inbound_webhook"]
        erasureRequestedAt = row["erasure_requested_at"]
    }
}

public struct APIKeyInfo: Sendable, Equatable, FetchableRecord {
    public var id: String
    public var name: String
    public var prefix: String
    public var createdAt: Int64
    public var lastUsedAt: Int64?
    public var revokedAt: Int64?

    public init(row: Row) throws {
        id = row["id"]
        name = row["name"]
        prefix = row["prefix"]
        createdAt = row["created_at"]
        lastUsedAt = row["last_used_at"]
        revokedAt = row["revoked_at"]
    }
}
