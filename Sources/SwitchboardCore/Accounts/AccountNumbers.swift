import GRDB

/// Phone numbers an account receives inbound messages on.
public struct AccountNumber: Sendable, Equatable, FetchableRecord {
    public var number: String
    public var createdAt: Int64
    /// Where inbound messages to the number are posted (an absolute http or https URL), if anywhere.
    public var inboundWebhook: String?

    public init(row: Row) throws {
        number = row["number"]
        createdAt = row["created_at"]
        inboundWebhook = row["inbound_webhook"]
    }
}

extension AccountStore {
    public enum NumberClaim: Sendable, Equatable {
        case claimed(AccountNumber)
        case takenByAnotherAccount
    }

    public func claimNumber(accountID: String, number: String) async throws -> NumberClaim {
        let now = clock.now().epochMillis
        return try await writer.write { db in
            if let owner = try String.fetchOne(
                db, sql: "SELECT account_id FROM account_numbers WHERE number = ?", arguments: [number])
            {
                guard owner == accountID else { return .takenByAnotherAccount }
            } else {
                try db.execute(
                    sql: "INSERT INTO account_numbers (number, account_id, created_at) VALUES (?, ?, ?)",
                    arguments: [number, accountID, now])
            }
            return .claimed(
                try AccountNumber.fetchOne(
                    db, sql: "SELECT * FROM account_numbers WHERE number = ?", arguments: [number])!)
        }
    }

    public func numbers(accountID: String) async throws -> [AccountNumber] {
        try await writer.pool.read { db in
            try AccountNumber.fetchAll(
                db, sql: "SELECT * FROM account_numbers WHERE account_id = ? ORDER BY number", arguments: [accountID])
        }
    }

    public func releaseNumber(accountID: String, number: String) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "DELETE FROM account_numbers WHERE number = ? AND account_id = ?", arguments: [number, accountID])
            return db.changesCount > 0
        }
    }
}

extension AccountStore {
    /// Sets or clears (nil) the number's inbound webhook; nil when the account holds no such number.
    public func setInboundWebhook(accountID: String, number: String, url: String?) async throws -> AccountNumber? {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE account_numbers SET inbound_webhook = ? WHERE number = ? AND account_id = ?",
                arguments: [url, number, accountID])
            return try AccountNumber.fetchOne(
                db, sql: "SELECT * FROM account_numbers WHERE number = ? AND account_id = ?",
                arguments: [number, accountID])
        }
    }
}
