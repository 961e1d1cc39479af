import Foundation
import GRDB

/// Messages and opt-outs. Writes go through the group-commit writer; reads use the pool's readers.
public struct MessageStore: Sendable {
    /// `optOuts` must hold every opt-out in the database (`OptOutFilter.load`).
    package init(
        writer: GroupCommitWriter, clock: any WallClock, digest: ContentDigest, events: any DomainEventSink,
        optOuts: OptOutFilter
    ) {
        self.writer = writer
        self.clock = clock
        self.digest = digest
        self.events = events
        self.optOuts = optOuts
    }

    package let writer: GroupCommitWriter
    /// Which numbers may have opted out, so that most sends skip `optOut`'s lookup.
    let optOuts: OptOutFilter
    let clock: any WallClock
    let digest: ContentDigest
    let events: any DomainEventSink

    public struct OptedOut: Error, Sendable {
        public var number: String
        public var keyword: String
        public var since: Int64
    }

    public struct Outbound: Sendable {
        public var accountID: String
        public var to: String
        public var from: String
        public var body: String
        public var statusCallback: String?
        public var statusCallbackEvents: CallbackEvents = .all
        /// For a message submitted over SMPP: its `registered_delivery` (1 a receipt on any final
        /// status, 2 on failure only), recorded with the message so the receipt survives a restart.
        public var smppRegisteredDelivery: UInt8?
        /// Assigned before the pre-send check so add-ons and the ledger see the message's final id.
        public var id: String = Identifier.makeOrdered("msg")

        package init(
            accountID: String, to: String, from: String, body: String, statusCallback: String? = nil,
            statusCallbackEvents: CallbackEvents = .all, id: String = Identifier.makeOrdered("msg")
        ) {
            self.accountID = accountID
            self.to = to
            self.from = from
            self.body = body
            self.statusCallback = statusCallback
            self.statusCallbackEvents = statusCallbackEvents
            self.id = id
        }
    }

    /// The opt-out of `number` from this account's messages, if it has one. Made before each
    /// pre-send check: answered from memory when the number never opted out (`OptOutFilter`),
    /// otherwise by the table's primary key on the caller's thread (`PointReader`).
    public func optOut(accountID: String, number: String) throws -> OptedOut? {
        guard optOuts.mayHaveOptedOut(accountID: accountID, number: number) else { return nil }
        return try writer.lookups.fetchOne(
            "SELECT keyword, created_at FROM opt_outs WHERE account_id = ? AND number = ?",
            bind: { statement in
                statement.bind(accountID)
                statement.bind(number)
            },
            row: { row in OptedOut(number: number, keyword: row.text(0) ?? "", since: row.integer(1) ?? 0) })
    }

    /// Stores a new outbound message as `queued`, refusing it in the same transaction when the
    /// recipient has opted out, so a STOP that commits first always wins, or when `from` is a number
    /// the account does not hold (`SenderNotOwned`), so a number released meanwhile is not sent from.
    public func insertOutbound(_ outbound: Outbound) async throws -> Message {
        let count = SegmentCount(body: outbound.body)
        let now = clock.now().epochMillis
        let id = outbound.id
        return try await writer.write { db in
            if let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT keyword, created_at FROM opt_outs WHERE account_id = ? AND number = ?"),
                arguments: [outbound.accountID, outbound.to])
            {
                throw OptedOut(number: outbound.to, keyword: row["keyword"], since: row["created_at"])
            }
            try Self.requireOwnSender(db, accountID: outbound.accountID, from: outbound.from)
            try db.cachedStatement(
                sql: """
                    INSERT INTO messages (id, account_id, direction, to_number, from_number, body, encoding, segments,
                        status, status_callback, status_callback_events, created_at, updated_at)
                    VALUES (?, ?, 'outbound', ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                id, outbound.accountID, outbound.to, outbound.from, outbound.body, count.encoding.rawValue,
                count.segments, outbound.statusCallback, outbound.statusCallbackEvents.storedValue, now, now,
            ])
            let seq = db.lastInsertedRowID
            if let registered = outbound.smppRegisteredDelivery, registered & 3 != 0 {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO smpp_deliveries (account_id, message_id, kind, registered_delivery, created_at)
                        VALUES (?, ?, 'receipt', ?, ?)
                        """
                ).execute(arguments: [outbound.accountID, id, Int(registered & 3), now])
            }
            return Message(queued: outbound, seq: seq, count: count, now: now)
        }
    }

    public func find(accountID: String, id: String) async throws -> Message? {
        try await writer.pool.read { db in
            try Message.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM messages WHERE id = ? AND account_id = ?"),
                arguments: [id, accountID])
        }
    }

    public struct Filter: Sendable {
        public var status: MessageStatus?
        public var direction: MessageDirection?
        public var to: String?
        public var from: String?
        public var since: Date?
        public var until: Date?
        public var beforeSeq: Int64?
        public var limit = 50

        public init() {}
    }

    /// Newest first; pass the last row's `seq` as `beforeSeq` for the next page.
    public func list(accountID: String, _ filter: Filter) async throws -> [Message] {
        var clauses = ["account_id = ?"]
        var arguments: StatementArguments = [accountID]
        if let status = filter.status { clauses.append("status = ?"); arguments += [status.rawValue] }
        if let direction = filter.direction { clauses.append("direction = ?"); arguments += [direction.rawValue] }
        if let to = filter.to { clauses.append("to_number = ?"); arguments += [to] }
        if let from = filter.from { clauses.append("from_number = ?"); arguments += [from] }
        if let since = filter.since { clauses.append("created_at >= ?"); arguments += [since.epochMillis] }
        if let until = filter.until { clauses.append("created_at < ?"); arguments += [until.epochMillis] }
        if let before = filter.beforeSeq { clauses.append("seq < ?"); arguments += [before] }
        arguments += [filter.limit]
        let sql = "SELECT * FROM messages WHERE \(clauses.joined(separator: " AND ")) ORDER BY seq DESC LIMIT ?"
        let bound = arguments
        return try await writer.pool.read { db in try Message.fetchAll(db, sql: sql, arguments: bound) }
    }

    /// Whether `seq` is one of the account's messages: the only positions `list` hands out as
    /// cursors (messages are never deleted, so a position once given stays one).
    public func isPosition(_ seq: Int64, accountID: String) async throws -> Bool {
        try await writer.pool.read { db in
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM messages WHERE seq = ? AND account_id = ?)"),
                arguments: [seq, accountID]) ?? false
        }
    }

    /// Outbound messages not yet final, oldest first: what the delivery pipeline owes after a restart.
    func unfinished() async throws -> [Message] {
        try await writer.pool.read { db in
            try Message.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM messages WHERE status IN ('queued', 'sent') ORDER BY seq"))
        }
    }

    /// Applies the account's `content_mode` to a message that has reached its final status.
    static func applyContentMode(_ db: Database, messageID: String, digest: ContentDigest) throws {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT m.body, m.account_id, a.content_mode FROM messages m JOIN accounts a ON a.id = m.account_id
                        WHERE m.id = ?
                        """), arguments: [messageID])
        else { return }
        try applyContentMode(
            db, messageID: messageID, accountID: row["account_id"], body: row["body"],
            mode: ContentMode(rawValue: row["content_mode"]) ?? .store, digest: digest)
    }

    /// Applies `mode` to a message that has just reached its final status.
    static func applyContentMode(_ db: Database, message: Message, mode: ContentMode, digest: ContentDigest) throws {
        try applyContentMode(
            db, messageID: message.id, accountID: message.accountID, body: message.body, mode: mode, digest: digest)
    }

    private static func applyContentMode(
        _ db: Database, messageID: String, accountID: String, body: String?, mode: ContentMode, digest: ContentDigest
    ) throws {
        guard let body else { return }
        switch mode {
        case .store:
            break
        case .hash:
            try db.cachedStatement(sql: "UPDATE messages SET body = NULL, body_digest = ? WHERE id = ?").execute(
                arguments: [digest.digest(body, accountID: accountID), messageID])
        case .hide:
            try db.cachedStatement(sql: "UPDATE messages SET body = NULL, body_digest = NULL WHERE id = ?").execute(
                arguments: [messageID])
        }
    }

    /// After an account switches to `hash` or `hide`, brings its finished messages in line: in `hide`,
    /// digests kept from an earlier `hash` go too, since `hide` keeps nothing in the body's place.
    public func applyContentMode(accountID: String) async throws {
        let digest = self.digest
        try await writer.write { db in
            if try String.fetchOne(
                db, sql: "SELECT content_mode FROM accounts WHERE id = ?", arguments: [accountID])
                == ContentMode.hide.rawValue
            {
                try db.execute(
                    sql: """
                        UPDATE messages SET body = NULL, body_digest = NULL
                        WHERE account_id = ? AND (body IS NOT NULL OR body_digest IS NOT NULL)
                        AND status IN ('delivered', 'undelivered', 'failed', 'received')
                        """, arguments: [accountID])
                return
            }
            let ids = try String.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT id FROM messages WHERE account_id = ? AND body IS NOT NULL
                        AND status IN ('delivered', 'undelivered', 'failed', 'received')
                        """), arguments: [accountID])
            for id in ids { try Self.applyContentMode(db, messageID: id, digest: digest) }
        }
    }
}
