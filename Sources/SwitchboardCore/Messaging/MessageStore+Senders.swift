import GRDB

extension MessageStore {
    /// An outbound message's `from` is a number that is not one of the sending account's numbers.
    /// Replies and STOPs to a number reach the account that claimed it (`account_numbers`), so a
    /// message from a number must come from that account: otherwise a recipient's STOP would opt
    /// out of another account's messages while the sender went on sending.
    public struct SenderNotOwned: Error, Sendable, Equatable {
        /// The E.164 number given as `from`.
        public var number: String

        public init(number: String) { self.number = number }

        /// The field error to answer with: names `from` and the fix.
        public var fieldError: FieldError {
            FieldError(
                "from",
                "\(number) is not one of your account's numbers; claim it first with POST /v1/account/numbers "
                    + "{\"number\": \"\(number)\"}, or send from an alphanumeric sender id such as ACME")
        }
    }

    /// Nil when `from` may be used by the account: an alphanumeric sender id, or an E.164 number the
    /// account has claimed. A read outside any write; `insertOutbound` checks again in its transaction.
    public func senderNotOwned(accountID: String, from: String) async throws -> SenderNotOwned? {
        guard PhoneNumber.isE164(from) else { return nil }
        return try await writer.pool.read { db in
            try Self.ownsSender(db, accountID: accountID, from: from) ? nil : SenderNotOwned(number: from)
        }
    }

    /// Throws `SenderNotOwned` unless `from` is an alphanumeric sender id or one of the account's
    /// numbers. Run inside the transaction that stores the message, so a number released (and
    /// perhaps claimed by another account) after the first check is not sent from.
    static func requireOwnSender(_ db: Database, accountID: String, from: String) throws {
        guard PhoneNumber.isE164(from) else { return }
        if try !ownsSender(db, accountID: accountID, from: from) { throw SenderNotOwned(number: from) }
    }

    private static func ownsSender(_ db: Database, accountID: String, from: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(
                sql: "SELECT EXISTS (SELECT 1 FROM account_numbers WHERE number = ? AND account_id = ?)"),
            arguments: [from, accountID]) ?? false
    }
}
