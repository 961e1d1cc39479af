import GRDB

/// What an account deletion did: what was erased, and what was kept and why.
public struct ErasureReport: Sendable, Codable, Equatable {
    public struct Kept: Sendable, Codable, Equatable {
        public var data: String
        public var reason: String
    }

    public var status: String
    public var erased: [String]
    public var kept: [Kept]
}

extension AccountStore {
    /// Erases what the platform holds about one phone number of this account: contacts with it and
    /// the bodies of messages to or from it.
    /// Returns false, erasing nothing, while an operator legal hold is set.
    public func eraseNumber(accountID: String, number: String) async throws -> Bool {
        try await writer.write { db in
            let held = try String.fetchOne(
                db, sql: "SELECT legal_hold_reason FROM accounts WHERE id = ?", arguments: [accountID])
            if held != nil { return false }
            try db.execute(
                sql: "DELETE FROM contacts WHERE account_id = ? AND number = ?", arguments: [accountID, number])
            try db.execute(
                sql: """
                    UPDATE messages SET body = NULL, body_digest = NULL
                    WHERE account_id = ? AND (to_number = ? OR from_number = ?) AND status != 'queued'
                    """, arguments: [accountID, number, number])
            return true
        }
    }

    /// Erases the account's personal data and closes it, unless an operator legal hold is set; nil when
    /// there is no such account.
    public func erase(accountID: String, retentionDays: Int) async throws -> ErasureReport? {
        let now = clock.now().epochMillis
        defer { credentials.forget(accountID: accountID) }
        return try await writer.write { db in
            guard
                let account = try Account.fetchOne(
                    db, sql: "SELECT * FROM accounts WHERE id = ?", arguments: [accountID])
            else { return nil }
            if let reason = account.legalHoldReason {
                return ErasureReport(
                    status: "held", erased: [],
                    kept: [
                        .init(
                            data: "all account data",
                            reason:
                                "an operator legal hold is set on this account (\(reason)); nothing is erased until it is lifted"
                        )
                    ])
            }
            try db.execute(sql: "DELETE FROM contacts WHERE account_id = ?", arguments: [accountID])
            let contacts = db.changesCount
            // Messages not yet handed to the carrier are not sent without their bodies: they fail.
            try db.execute(
                sql: """
                    UPDATE messages SET status = 'failed', error_message = 'account erased before sending', completed_at = ?,
                        updated_at = ? WHERE account_id = ? AND status = 'queued'
                    """, arguments: [now, now, accountID])
            try db.execute(
                sql: "UPDATE messages SET body = NULL, body_digest = NULL WHERE account_id = ?", arguments: [accountID])
            // Pending events go; pending erasure orders stay, so they still reach their add-ons.
            try db.execute(
                sql: "DELETE FROM addon_outbox WHERE account_id = ? AND kind = 'event'", arguments: [accountID])
            try db.execute(sql: "DELETE FROM addon_records WHERE account_id = ?", arguments: [accountID])
            try db.execute(sql: "DELETE FROM callbacks WHERE account_id = ?", arguments: [accountID])
            try db.execute(sql: "DELETE FROM account_numbers WHERE account_id = ?", arguments: [accountID])
            try db.execute(
                sql: "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE account_id = ?",
                arguments: [now, accountID])
            try db.execute(
                sql: """
                    UPDATE accounts SET name = NULL, email = NULL, company = NULL, password_hash = NULL,
                        last_login_ip = NULL, status = 'erased', erased_at = ?, updated_at = ? WHERE id = ?
                    """, arguments: [now, now, accountID])
            return ErasureReport(
                status: "erased",
                erased: [
                    "name", "email", "company", "password", "last sign-in address", "contacts (\(contacts))",
                    "message bodies and body digests", "pending status callbacks", "phone numbers",
                    "API keys (revoked)",
                ],
                kept: [
                    .init(
                        data: "message records without bodies (numbers, status, segments, timestamps)",
                        reason: "billing and carrier dispute records the platform must keep"),
                    .init(
                        data: "opt-out records",
                        reason: "proof that recipients who replied STOP are not messaged again"),
                    .init(
                        data: "API request logs",
                        reason: "security records; purged automatically after \(retentionDays) days"),
                ])
        }
    }
}
