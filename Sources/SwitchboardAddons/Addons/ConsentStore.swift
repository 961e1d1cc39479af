import Foundation
import GRDB
import SwitchboardCore
import Synchronization

/// A customer's consent for one add-on: a versioned record, never overwritten. Withdrawal is a new
/// record too, so the history shows who allowed what, against which manifest version, and when.
public struct ConsentRecord: Sendable, Equatable, FetchableRecord {
    public enum Action: String, Sendable {
        case grant, withdraw
    }

    public var rev: Int64
    /// The consent receipt id.
    public var id: String
    public var accountID: String
    public var addonID: String
    public var addonVersion: String
    public var action: Action
    public var fields: [String]
    /// The terms shown when the customer agreed (grants only); nil for a withdrawal, and for a grant
    /// recorded before terms were kept (see `ConsentTerms.inForce`).
    public var terms: ConsentTerms?
    public var at: Int64
    public var actor: String

    public init(row: Row) throws {
        rev = row["rev"]
        id = row["id"]
        accountID = row["account_id"]
        addonID = row["addon_id"]
        addonVersion = row["addon_version"]
        action = Action(rawValue: row["action"]) ?? .withdraw
        let fieldsJSON: String = row["fields"]
        fields = (try? JSONDecoder().decode([String].self, from: Data(fieldsJSON.utf8))) ?? []
        let termsJSON: String? = row["terms"]
        terms = try termsJSON.map { try JSONDecoder().decode(ConsentTerms.self, from: Data($0.utf8)) }
        at = row["at"]
        actor = row["actor"]
    }
}

/// Consent records, with an in-memory index of the grant in force per (account, add-on) so the
/// message path never queries for it. The index is refreshed when another process (the
/// `switchboard addons apply` command) adds records.
public final class ConsentStore: Sendable {
    let writer: GroupCommitWriter
    let clock: any WallClock
    let recent: RecentLog
    private struct Index {
        var current: [Key: ConsentRecord] = [:]
        /// The newest record the last full read of the table saw.
        var loadedRev: Int64 = 0
        /// The newest record this process wrote and applied itself. A full read that started
        /// before it committed must not overwrite it: that read would bring back a grant just
        /// withdrawn (or drop one just given) until the next read.
        var localRev: Int64 = 0
    }
    private let index = Mutex(Index())

    init(writer: GroupCommitWriter, clock: any WallClock, recent: RecentLog) throws {
        self.writer = writer
        self.clock = clock
        self.recent = recent
        try load()
    }

    /// An (account, add-on) pair. Looked up for every event published, so not joined into one
    /// string: that allocated a string per lookup.
    private struct Key: Hashable {
        var accountID: String
        var addonID: String
    }

    private static func key(_ accountID: String, _ addonID: String) -> Key {
        Key(accountID: accountID, addonID: addonID)
    }

    /// The grant in force, or nil when the account has not granted or has withdrawn.
    public func current(accountID: String, addonID: String) -> ConsentRecord? {
        index.withLock { $0.current[Self.key(accountID, addonID)] }
    }

    public func grants(accountID: String) -> [ConsentRecord] {
        index.withLock { $0.current.values.filter { $0.accountID == accountID } }.sorted { $0.addonID < $1.addonID }
    }

    private static let latestSQL = """
        SELECT * FROM addon_consents WHERE rev IN (SELECT MAX(rev) FROM addon_consents GROUP BY account_id, addon_id)
        """

    /// Reads the records at start (synchronously: the daemon is not serving yet).
    private func load() throws {
        let (latest, records) = try writer.pool.read { db in
            (
                try Int64.fetchOne(db, sql: "SELECT MAX(rev) FROM addon_consents") ?? 0,
                try ConsentRecord.fetchAll(db, sql: Self.latestSQL)
            )
        }
        replace(records, latest: latest)
    }

    /// Re-reads the records when any were added since the last read. Asynchronous: a blocking read
    /// on the concurrency pool's few threads could starve the readers it waits for.
    public func reload() async throws {
        let known = index.withLock { $0.loadedRev }
        // One read transaction, so `latest` and `records` describe the same snapshot.
        let snapshot: (Int64, [ConsentRecord])? = try await writer.pool.read { db in
            let latest = try Int64.fetchOne(db, sql: "SELECT MAX(rev) FROM addon_consents") ?? 0
            guard latest != known else { return nil }
            return (latest, try ConsentRecord.fetchAll(db, sql: Self.latestSQL))
        }
        guard let (latest, records) = snapshot else { return }
        // Records this process did not make row by row (another process's `addons apply` may have
        // withdrawn a grant and taken it out of waiting rows): only the table is to be trusted.
        recent.clear()
        replace(records, latest: latest)
    }

    /// Replaces the index with a full read, unless this process applied a newer record of its own
    /// since that read's snapshot; the next read (a second later) then includes it.
    private func replace(_ records: [ConsentRecord], latest: Int64) {
        index.withLock { index in
            guard index.localRev <= latest else { return }
            index.current = [:]
            for record in records where record.action == .grant {
                index.current[Self.key(record.accountID, record.addonID)] = record
            }
            index.loadedRev = latest
        }
    }

    private func remember(_ record: ConsentRecord) {
        index.withLock { index in
            let key = Self.key(record.accountID, record.addonID)
            if record.action == .grant { index.current[key] = record } else { index.current[key] = nil }
            index.localRev = max(index.localRev, record.rev)
        }
    }

    /// Records a grant of `fields` under the manifest's current terms (replacing the grant in force)
    /// and returns it as the consent receipt.
    public func grant(accountID: String, manifest: Manifest, fields: [String], actor: String) async throws
        -> ConsentRecord
    {
        try await append(
            accountID: accountID, addonID: manifest.id, version: manifest.version, action: .grant, fields: fields,
            terms: ConsentTerms(manifest: manifest, granting: fields), actor: actor)
    }

    /// Records a withdrawal, effective at once: events queued for the add-on are dropped with it.
    public func withdraw(accountID: String, manifest: Manifest, actor: String) async throws -> ConsentRecord {
        try await append(
            accountID: accountID, addonID: manifest.id, version: manifest.version, action: .withdraw, fields: [],
            terms: nil, actor: actor)
    }

    private func append(
        accountID: String, addonID: String, version: String, action: ConsentRecord.Action, fields: [String],
        terms: ConsentTerms?, actor: String
    ) async throws -> ConsentRecord {
        let now = clock.now().epochMillis
        let id = Identifier.make("cr")
        let fieldsJSON = String(decoding: try JSONEncoder().encode(fields.sorted()), as: UTF8.self)
        let termsJSON = try terms.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let (record, hooked) = try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO addon_consents (id, account_id, addon_id, addon_version, action, fields, terms, at, actor)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, accountID, addonID, version, action.rawValue, fieldsJSON, termsJSON, now, actor])
            if action == .withdraw {
                try EventLog.withdraw(db, addonID: addonID, accountID: accountID)
                _ = self.writer.afterRequestCommit { [recent = self.recent] in
                    recent.withdraw(addonID: addonID, accountID: accountID)
                }
            }
            let record = try ConsentRecord.fetchOne(
                db, sql: "SELECT * FROM addon_consents WHERE id = ?", arguments: [id])!
            // The index changes as the batch commits, before the writer starts the next one: an
            // event published by a later batch must not still name an add-on just withdrawn (it
            // would wait in the log, never delivered, until the worker passed it).
            let hooked = self.writer.afterRequestCommit { self.remember(record) }
            return (record, hooked)
        }
        // Remembered after resuming only when no hook ran: a caller that resumes late must not put
        // back a grant that a later request has withdrawn.
        if !hooked { remember(record) }
        return record
    }

    /// Withdraws every grant the account has in force, in the caller's transaction (an account
    /// erasure): an erased account enables nothing. The index follows once the transaction commits.
    func withdrawAll(_ db: Database, accountID: String, actor: String) throws {
        let now = clock.now().epochMillis
        let grants = grants(accountID: accountID)
        for grant in grants {
            try db.execute(
                sql: """
                    INSERT INTO addon_consents (id, account_id, addon_id, addon_version, action, fields, at, actor)
                    VALUES (?, ?, ?, ?, ?, '[]', ?, ?)
                    """,
                arguments: [
                    Identifier.make("cr"), accountID, grant.addonID, grant.addonVersion,
                    ConsentRecord.Action.withdraw.rawValue, now, actor,
                ])
        }
        guard !grants.isEmpty else { return }
        let newest = db.lastInsertedRowID
        db.afterNextTransaction { _ in
            self.index.withLock { index in
                for grant in grants { index.current[Self.key(accountID, grant.addonID)] = nil }
                index.localRev = max(index.localRev, newest)
            }
        }
    }

    public func record(id: String) async throws -> ConsentRecord? {
        try await writer.pool.read { db in
            try ConsentRecord.fetchOne(db, sql: "SELECT * FROM addon_consents WHERE id = ?", arguments: [id])
        }
    }

    public func history(accountID: String, addonID: String) async throws -> [ConsentRecord] {
        try await writer.pool.read { db in
            try ConsentRecord.fetchAll(
                db, sql: "SELECT * FROM addon_consents WHERE account_id = ? AND addon_id = ? ORDER BY rev",
                arguments: [accountID, addonID])
        }
    }
}
