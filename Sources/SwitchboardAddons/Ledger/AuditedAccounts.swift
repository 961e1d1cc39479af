import GRDB

/// Whether an audit's account filter names an account the platform knows, so that an audit never
/// answers "no shares" to a mistyped account id, as `AuditedAddons` does for add-ons.
package enum AuditedAccounts {
    /// True for an account in `accounts` (an erased account keeps its row, marked erased) or one
    /// the ledger has rows for (both looked up by index). Throws what GRDB throws.
    package static func isKnown(_ accountID: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?)
                    OR EXISTS (SELECT 1 FROM ledger WHERE account_id = ?)
                """,
            arguments: [accountID, accountID]) ?? false
    }
}

extension AddonPlatform {
    /// Whether an audit may name `accountID` (see `AuditedAccounts.isKnown`).
    public func auditedAccountIsKnown(_ accountID: String) async throws -> Bool {
        try await writer.pool.read { db in try AuditedAccounts.isKnown(accountID, db) }
    }
}
