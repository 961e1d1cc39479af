import Foundation
import GRDB
import SwitchboardCore

/// The add-on platform's durable event log: a transactional outbox written once per event and
/// read by every add-on through its own cursor, as a consumer group keeps its offset in a log.
///
/// - `addon_log`: one row per domain event (or erasure order), written in the transaction of its
///   cause. `recipients` names the add-ons it is for, as `,id1,id2,`, decided when it is written
///   (who subscribes to the type and had consent then); a withdrawal takes the add-on out of the
///   rows still waiting. `seq` is `AUTOINCREMENT`, so it only grows, also after pruning empties the
///   table, and (one writer at a time) follows commit order.
/// - `addon_cursors`: per add-on, the last `seq` it has passed (every row up to it is delivered,
///   skipped or not for it), and the retry state of the row after it (`attempts`,
///   `next_attempt_at` in ms since the epoch).
///
/// A row goes once every running add-on's cursor has passed it, except rows an add-on that is
/// configured but not running still needs (`prune`).
package enum EventLog {
    /// What a row carries (its `kind` column).
    package enum Kind: String, Sendable {
        /// A domain event (`DomainEvent.stored`), mediated into a view when delivered.
        case event
        /// An erasure order (`ErasureOrder` as JSON) for the one add-on it names.
        case erase
    }

    /// One row, as a consumer reads it.
    package struct Entry: Sendable {
        package var seq: Int64
        package var accountID: String
        /// Nil for a kind this version does not know: never guessed at, skipped.
        package var kind: Kind?
        package var recipients: String
        package var payload: Data

        package init(seq: Int64, accountID: String, kind: Kind?, recipients: String, payload: Data) {
            self.seq = seq
            self.accountID = accountID
            self.kind = kind
            self.recipients = recipients
            self.payload = payload
        }

        /// Whether the row is for `addonID`. Compared byte by byte: `String.contains` was 1.4% of
        /// the daemon's samples with three add-ons, each reading every row.
        package func names(_ addonID: String) -> Bool {
            recipients.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true).contains {
                $0.elementsEqual(addonID.utf8)
            }
        }
    }

    /// Where a consumer stands.
    package struct Cursor: Sendable, Equatable {
        /// The last `seq` passed; 0 before the first.
        package var seq: Int64
        /// Deliveries of the row after `seq` that the add-on asked to have again (`SB_RETRY`).
        package var attempts: Int
        /// When that row may be offered again (ms since the epoch).
        package var nextAttemptAt: Int64

        package init(seq: Int64, attempts: Int, nextAttemptAt: Int64) {
            self.seq = seq
            self.attempts = attempts
            self.nextAttemptAt = nextAttemptAt
        }
    }

    static func token(_ addonID: String) -> String { "," + addonID + "," }

    /// The `recipients` value for `addonIDs`.
    static func recipients(_ addonIDs: some Sequence<String>) -> String {
        "," + addonIDs.joined(separator: ",") + ","
    }

    /// Writes one row in the caller's transaction.
    static func append(_ db: Database, accountID: String, kind: Kind, recipients: String, payload: Data) throws {
        var insert = SQLiteInsert(
            try db.cachedStatement(
                sql: "INSERT INTO addon_log (account_id, kind, recipients, payload) VALUES (?, ?, ?, ?)"))
        insert.bind(accountID)
        insert.bind(kind.rawValue)
        insert.bind(recipients)
        insert.bind(payload)
        try insert.execute()
    }

    /// Up to `limit` rows after `seq`, in order.
    static func read(_ db: Database, after seq: Int64, limit: Int) throws -> [Entry] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT seq, account_id, kind, recipients, payload FROM addon_log WHERE seq > ? ORDER BY seq LIMIT ?"
            ),
            arguments: [seq, limit]
        ).map { row in
            Entry(
                seq: row["seq"], accountID: row["account_id"], kind: Kind(rawValue: row["kind"]),
                recipients: row["recipients"], payload: row["payload"])
        }
    }

    /// The cursor of `addonID`; a consumer seen for the first time starts before every row.
    static func cursor(_ db: Database, addonID: String) throws -> Cursor {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT seq, attempts, next_attempt_at FROM addon_cursors WHERE addon_id = ?"),
                arguments: [addonID])
        else { return Cursor(seq: 0, attempts: 0, nextAttemptAt: 0) }
        return Cursor(seq: row["seq"], attempts: row["attempts"], nextAttemptAt: row["next_attempt_at"])
    }

    /// Creates the cursors of `addonIDs` that do not exist yet, so that pruning waits for them.
    static func open(_ db: Database, addonIDs: [String]) throws {
        for addonID in addonIDs {
            try db.execute(
                sql: "INSERT INTO addon_cursors (addon_id, seq) VALUES (?, 0) ON CONFLICT (addon_id) DO NOTHING",
                arguments: [addonID])
        }
    }

    /// Stores `cursor` for `addonID`.
    static func move(_ db: Database, addonID: String, to cursor: Cursor) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO addon_cursors (addon_id, seq, attempts, next_attempt_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (addon_id) DO UPDATE SET
                    seq = excluded.seq, attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at
                """
        ).execute(arguments: [addonID, cursor.seq, cursor.attempts, cursor.nextAttemptAt])
    }

    /// Deletes the rows every consumer has passed (none while one of them has no cursor yet).
    /// `consumers` are the add-ons with a delivery worker; `configured` every add-on the daemon knows. A row that names a configured add-on
    /// without a worker (its library failed to load) stays, as does an erasure order for an add-on
    /// without a worker: it gets them when it runs again.
    static func prune(_ db: Database, consumers: [String], sql: String) throws {
        try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(consumers))
    }

    /// The statement `prune` runs (its arguments are `consumers`): fixed for a daemon's life, so
    /// built once and cached.
    package static func pruneSQL(consumers: [String], configured: [String]) -> String {
        let waiting = configured.filter { !consumers.contains($0) }
        let quoted = consumers.map { "'" + token($0).replacingOccurrences(of: "'", with: "''") + "'" }
        var sql = """
            DELETE FROM addon_log WHERE seq <= (
                SELECT CASE WHEN COUNT(*) = \(consumers.count) THEN MIN(seq) ELSE 0 END
                FROM addon_cursors WHERE addon_id IN (\(databaseQuestionMarks(count: consumers.count))))
            AND (kind = 'event' OR recipients IN (\(quoted.isEmpty ? "NULL" : quoted.joined(separator: ", "))))
            """
        for addonID in waiting {
            sql += " AND instr(recipients, '\(token(addonID).replacingOccurrences(of: "'", with: "''"))') = 0"
        }
        return sql
    }

    /// Takes `addonID` out of the events still waiting for the account (a withdrawal): they are
    /// never delivered to it, also if the account enables it again before they would have been.
    static func withdraw(_ db: Database, addonID: String, accountID: String) throws {
        try db.execute(
            sql: """
                UPDATE addon_log SET recipients = replace(recipients, ?, ',')
                WHERE account_id = ? AND kind = ? AND instr(recipients, ?) > 0
                """,
            arguments: [token(addonID), accountID, Kind.event.rawValue, token(addonID)])
    }

    /// Deletes the account's waiting events (an account erasure); its erasure orders stay.
    static func forgetAccount(_ db: Database, accountID: String) throws {
        try db.execute(
            sql: "DELETE FROM addon_log WHERE account_id = ? AND kind = ?",
            arguments: [accountID, Kind.event.rawValue])
    }

    /// Rows waiting for each of `addonIDs`: after its cursor (or from the start, without one) and
    /// naming it.
    package static func backlog(_ db: Database, addonIDs: [String]) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for addonID in addonIDs {
            counts[addonID] =
                try Int.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT COUNT(*) FROM addon_log
                            WHERE seq > COALESCE((SELECT seq FROM addon_cursors WHERE addon_id = ?), 0)
                            AND instr(recipients, ?) > 0
                            """), arguments: [addonID, token(addonID)]) ?? 0
        }
        return counts
    }
}
