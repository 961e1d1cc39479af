import Foundation
import GRDB

/// Why an inbound message could not be taken.
public struct UnroutableInbound: Error, Sendable {
    public var to: String
}

extension MessageStore {
    /// Stores an inbound message for the account that owns its `to` number and applies opt-out keywords.
    /// `webhook` is called in the storing transaction when the number has an inbound webhook (its
    /// own, or else its account's), with the stored message and the URL.
    func receive(
        _ inbound: InboundSMS,
        webhook: @escaping @Sendable (Database, Message, String) throws -> Void = { _, _, _ in }
    ) async throws -> InboundOutcome {
        let count = SegmentCount(body: inbound.body)
        let now = clock.now().epochMillis
        let id = Identifier.makeOrdered("msg")
        let digest = self.digest
        let events = self.events
        let keyword = OptOutKeyword.action(for: inbound.body)
        let optOuts = self.optOuts
        return try await writer.write { db in
            guard
                let owner = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT n.account_id, COALESCE(n.inbound_webhook, a.inbound_webhook) AS inbound_webhook
                        FROM account_numbers n
                        JOIN accounts a ON a.id = n.account_id WHERE n.number = ? AND a.status = 'active'
                        """, arguments: [inbound.to])
            else { throw UnroutableInbound(to: inbound.to) }
            let accountID: String = owner["account_id"]
            let webhookURL: String? = owner["inbound_webhook"]
            try db.execute(
                sql: """
                    INSERT INTO messages (id, account_id, direction, to_number, from_number, body, encoding, segments,
                        status, created_at, completed_at, updated_at)
                    VALUES (?, ?, 'inbound', ?, ?, ?, ?, ?, 'received', ?, ?, ?)
                    """,
                arguments: [
                    id, accountID, inbound.to, inbound.from, inbound.body, count.encoding.rawValue, count.segments, now,
                    now, now,
                ])
            switch keyword {
            case (.optedOut, let word)?:
                try db.execute(
                    sql:
                        "INSERT OR REPLACE INTO opt_outs (account_id, number, keyword, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [accountID, inbound.from, word, now])
                optOuts.note(accountID: accountID, number: inbound.from)
            case (.optedIn, _)?:
                try db.execute(
                    sql: "DELETE FROM opt_outs WHERE account_id = ? AND number = ?",
                    arguments: [accountID, inbound.from])
            case nil:
                break
            }
            // An account with SMPP credentials gets its inbound messages on its receiver binds too;
            // the body is held with the delivery (content_mode may drop it from the message) until
            // a receiver takes it.
            try db.cachedStatement(
                sql: """
                    INSERT INTO smpp_deliveries (account_id, message_id, kind, body, created_at)
                    SELECT ?, ?, 'inbound', ?, ? WHERE EXISTS (
                        SELECT 1 FROM smpp_credentials WHERE account_id = ? AND revoked_at IS NULL)
                    """
            ).execute(arguments: [accountID, id, inbound.body, now, accountID])
            let received = try Message.fetchOne(db, sql: "SELECT * FROM messages WHERE id = ?", arguments: [id])!
            if let webhookURL { try webhook(db, received, webhookURL) }
            try events.publish(db, .messageInbound, accountID: accountID) {
                .messageInbound(received, optOut: keyword?.0)
            }
            try Self.applyContentMode(db, messageID: id, digest: digest)
            let message = try Message.fetchOne(db, sql: "SELECT * FROM messages WHERE id = ?", arguments: [id])!
            return InboundOutcome(message: message, optOut: keyword?.0)
        }
    }
}
