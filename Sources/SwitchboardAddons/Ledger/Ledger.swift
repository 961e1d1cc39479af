import Crypto
import Foundation
import GRDB
import SwitchboardCore

/// One ledger record: which add-on received which fields of which events, under which consent,
/// when. No values. A record covers every event of one delivered batch that crossed with the same
/// fields and treatments under the same consent record (see `Ledger.append`); `eventIDs` lists them.
public struct LedgerEntry: Sendable, Equatable, FetchableRecord {
    public var seq: Int64
    public var at: Int64
    public var addonID: String
    public var addonVersion: String
    public var accountID: String
    /// The `event_id` column as stored (and hashed): the events' ids joined by commas.
    public var eventID: String
    public var eventType: String
    /// `field:treatment` pairs, e.g. `usage.to:pseudonym`.
    public var fields: [String]
    public var consentID: String?
    public var prevHash: String
    public var hash: String

    public init(row: Row) throws {
        seq = row["seq"]
        at = row["at"]
        addonID = row["addon_id"]
        addonVersion = row["addon_version"]
        accountID = row["account_id"]
        eventID = row["event_id"]
        eventType = row["event_type"]
        let joined: String = row["fields"]
        fields = joined.isEmpty ? [] : joined.split(separator: ",").map(String.init)
        consentID = row["consent_id"]
        prevHash = row["prev_hash"]
        hash = row["hash"]
    }

    /// The events this record covers, in the order they were delivered (ids never contain commas).
    public var eventIDs: [String] {
        eventID.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
}

/// The append-only, hash-chained record of every view delivered to an add-on.
public enum Ledger {
    public static let genesis = String(repeating: "0", count: 64)
    /// The `event_type` of an add-on's erasure receipt, which shares nothing.
    static let erasureEventType = "erasure"

    public struct Share: Sendable, Hashable {
        var addonID: String
        var addonVersion: String
        var accountID: String
        var eventID: String
        var eventType: String
        /// `field:treatment` pairs.
        var fields: [String]
        var consentID: String?

        /// A view delivered to an add-on.
        package init(addonID: String, addonVersion: String, view: AddonView, consentID: String?) {
            self.addonID = addonID
            self.addonVersion = addonVersion
            accountID = view.accountID
            eventID = view.eventID
            eventType = view.type.rawValue
            fields = view.fields.map { "\($0.id):\($0.treatment.rawValue)" }
            self.consentID = consentID
        }

        /// An add-on's acknowledgement of an erasure request (the erasure receipt).
        init(
            erasureReceiptFrom addonID: String, addonVersion: String, accountID: String, requestID: String,
            subjectKind: ErasureSubject.Kind
        ) {
            self.addonID = addonID
            self.addonVersion = addonVersion
            self.accountID = accountID
            eventID = requestID
            eventType = Ledger.erasureEventType
            fields = ["subject.\(subjectKind.rawValue):erased"]
            consentID = nil
        }
    }

    /// The hash of a row: SHA-256 over the previous hash and every column, in a fixed order.
    package static func hash(
        prev: String, seq: Int64, at: Int64, addonID: String, addonVersion: String, accountID: String, eventID: String,
        eventType: String, fields: String, consentID: String?
    ) -> String {
        // The fields joined by U+001F, hashed piece by piece rather than joined first.
        var hasher = SHA256()
        let parts = [
            prev, String(seq), String(at), addonID, addonVersion, accountID, eventID, eventType, fields,
            consentID ?? "",
        ]
        for (index, part) in parts.enumerated() {
            if index > 0 { hasher.update(data: [0x1F]) }
            var part = part
            part.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        }
        return hasher.finalize().hexString
    }

    /// Appends shares inside the caller's transaction (the writer's batch), chaining each record to
    /// the last. Shares that differ only in their event become one record whose `event_id` lists the
    /// events in order: a delivered batch of 256 events to one add-on about one account costs one
    /// hash-chained row, not 256, and every audit answer (which account, which events, which fields
    /// with which treatment, under which consent, when) stays exact. Erasure receipts stay one a row.
    package static func append(_ db: Database, _ shares: [Share], at: Int64) throws {
        guard !shares.isEmpty else { return }
        var records: [Share] = []
        // Two shares are one record when all but their event is equal: the share with no event is the key.
        var index: [Share: Int] = [:]
        for share in shares {
            guard share.eventType != erasureEventType else {
                records.append(share)
                continue
            }
            var key = share
            key.eventID = ""
            if let position = index[key] {
                records[position].eventID += "," + share.eventID
            } else {
                index[key] = records.count
                records.append(share)
            }
        }
        var seq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(seq) FROM ledger")) ?? 0
        var prev =
            try String.fetchOne(db.cachedStatement(sql: "SELECT hash FROM ledger WHERE seq = ?"), arguments: [seq])
            ?? genesis
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO ledger (seq, at, addon_id, addon_version, account_id, event_id, event_type, fields, consent_id,
                    prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for share in records {
            seq += 1
            let fields = share.fields.joined(separator: ",")
            let hash = hash(
                prev: prev, seq: seq, at: at, addonID: share.addonID, addonVersion: share.addonVersion,
                accountID: share.accountID, eventID: share.eventID, eventType: share.eventType,
                fields: fields, consentID: share.consentID)
            var insert = SQLiteInsert(statement)
            insert.bind(seq)
            insert.bind(at)
            insert.bind(share.addonID)
            insert.bind(share.addonVersion)
            insert.bind(share.accountID)
            insert.bind(share.eventID)
            insert.bind(share.eventType)
            insert.bind(fields)
            insert.bind(share.consentID)
            insert.bind(prev)
            insert.bind(hash)
            try insert.execute()
            prev = hash
        }
        try Recipients.note(db, records, at: at)
    }

    /// SQL for the number of events a ledger row covers (its comma-separated `event_id`), derived
    /// from the hashed column itself so that no unhashed count can be edited.
    static let eventCountSQL = "(length(event_id) - length(replace(event_id, ',', '')) + 1)"

    public struct Query: Sendable {
        public var addonID: String?
        public var accountID: String?
        public var field: String?
        public var category: DataCategory?
        public var since: Int64?
        public var until: Int64?
        public var afterSeq: Int64?
        public var limit = 1000

        public init() {}

        /// Why `since` and `until` select nothing, naming `until`; nil when they may select rows. A
        /// range that ends before it starts is a mistake, and an empty answer would read as "no
        /// add-on received anything then".
        public var rangeProblem: FieldError? {
            guard let since, let until, until <= since else { return nil }
            return FieldError(
                "until",
                "must be later than since (since is \(Timestamp.string(since) ?? "\(since)"), until \(Timestamp.string(until) ?? "\(until)")); swap them if they are the wrong way round"
            )
        }
    }

    public static func query(_ db: Database, _ query: Query) throws -> [LedgerEntry] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let addon = query.addonID { clauses.append("addon_id = ?"); arguments += [addon] }
        if let account = query.accountID { clauses.append("account_id = ?"); arguments += [account] }
        if let field = query.field {
            clauses.append("(',' || fields || ',') LIKE ?")
            arguments += ["%," + field + ":%"]
        }
        if let category = query.category {
            clauses.append("(',' || fields) LIKE ?")
            arguments += ["%," + category.rawValue + ".%"]
        }
        if let since = query.since { clauses.append("at >= ?"); arguments += [since] }
        if let until = query.until { clauses.append("at < ?"); arguments += [until] }
        if let after = query.afterSeq { clauses.append("seq > ?"); arguments += [after] }
        arguments += [query.limit]
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        return try LedgerEntry.fetchAll(
            db, sql: "SELECT * FROM ledger \(whereClause) ORDER BY seq LIMIT ?", arguments: arguments)
    }

    /// Whether `seq` is a position `query` may have handed out as a cursor for the add-on and
    /// account it names: one of their rows, or one before every row kept (compacted since, so the
    /// list goes on from the oldest row kept).
    public static func isPosition(_ db: Database, _ seq: Int64, of query: Query) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM ledger WHERE seq = ? AND addon_id IS ? AND account_id IS ?)
                    OR ? < coalesce((SELECT min(seq) FROM ledger), ?)
                """,
            arguments: [seq, query.addonID, query.accountID, seq, seq + 1]) ?? false
    }

    public struct VerificationFailure: Error, Sendable, Equatable {
        public var seq: Int64
        public var reason: String
    }
}
