import GRDB
import SwitchboardCore

/// The durable record of which add-on received data about which account (`addon_recipients`),
/// kept when ledger rows are compacted away, so an erasure request reaches every add-on that ever
/// received something (GDPR article 17(2), article 19) and tells it only what it already had.
package enum Recipients {
    /// How an add-on received the account's phone numbers (`usage.to`, `usage.from`): the widest
    /// form seen. An erasure request for a number carries the number only in this form.
    package enum Numbers: String, Sendable, Comparable {
        case none
        case pseudonym
        case clear

        private var rank: Int {
            switch self {
            case .none: 0
            case .pseudonym: 1
            case .clear: 2
            }
        }

        package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }

        /// The form of the numbers in one share's `field:treatment` pairs.
        init(share fields: [String]) {
            var widest = Numbers.none
            for pair in fields where pair.hasPrefix("usage.to:") || pair.hasPrefix("usage.from:") {
                widest = max(widest, pair.hasSuffix(":clear") ? .clear : .pseudonym)
            }
            self = widest
        }
    }

    /// Notes the shares' recipients in the caller's transaction, one upsert per (add-on, account).
    static func note(_ db: Database, _ shares: [Ledger.Share], at: Int64) throws {
        struct Key: Hashable {
            var addonID: String
            var accountID: String
        }
        var seen: [Key: Numbers] = [:]
        for share in shares where share.eventType != Ledger.erasureEventType {
            let key = Key(addonID: share.addonID, accountID: share.accountID)
            seen[key] = max(seen[key] ?? .none, Numbers(share: share.fields))
        }
        guard !seen.isEmpty else { return }
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO addon_recipients (addon_id, account_id, first_at, last_at, numbers) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (addon_id, account_id) DO UPDATE SET
                    first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at),
                    numbers = CASE
                        WHEN numbers = 'clear' OR excluded.numbers = 'clear' THEN 'clear'
                        WHEN numbers = 'pseudonym' OR excluded.numbers = 'pseudonym' THEN 'pseudonym'
                        ELSE 'none' END
                """)
        for (key, numbers) in seen {
            try statement.execute(arguments: [key.addonID, key.accountID, at, at, numbers.rawValue])
        }
    }

    /// The add-ons that received data about the account, with the form of the numbers they received.
    /// `numbersOnly` keeps those that received a phone number (in either form).
    package static func of(_ db: Database, accountID: String, numbersOnly: Bool) throws -> [(
        addonID: String, numbers: Numbers
    )] {
        try Row.fetchAll(
            db,
            sql: "SELECT addon_id, numbers FROM addon_recipients WHERE account_id = ? ORDER BY addon_id",
            arguments: [accountID]
        ).compactMap { row in
            // A form this version does not know is read as the widest, never as none.
            let numbers = Numbers(rawValue: row["numbers"]) ?? .clear
            if numbersOnly, numbers == .none { return nil }
            return (row["addon_id"], numbers)
        }
    }
}
