import GRDB
import Synchronization

/// Fingerprints of the (account, number) pairs that have an opt-out, held in memory so that the
/// lookup made before each pre-send check reaches SQLite only for a number that may have opted out.
///
/// That lookup ran for every message an add-on checks, and it almost always finds nothing: in the
/// benchmark's scenario A with ComplianceScrub it was 6.5 µs of CPU per message (`perf record`,
/// `PointReader.fetchOne`, most of it SQLite beginning a read of the write-ahead log), for the
/// rare number that replied STOP. A fingerprint is 64 bits of a per-process `Hasher`, so the set
/// costs about 16 bytes an opt-out and a miss is exact: a number whose fingerprint is absent has
/// no opt-out. A hit (an opt-out, a later opt-in that deleted it, or a collision) asks SQLite.
///
/// The set is filled from `opt_outs` when the daemon opens its database, and `note` adds each
/// opt-out inside the transaction that writes it, so the fingerprint is there before the row can
/// be read. Fingerprints are never removed: an opt-in or an erasure leaves one behind, which only
/// costs that number the lookup it had before. Only this daemon writes `opt_outs` (the inbound
/// path); a process that wrote opt-outs beside it would have to share this set.
package final class OptOutFilter: Sendable {
    private let fingerprints = Mutex<Set<UInt64>>([])

    package init() {}

    /// Reads every opt-out of `db`'s `opt_outs` table.
    /// - Throws: `DatabaseError` from the read.
    package static func load(_ db: Database) throws -> OptOutFilter {
        let filter = OptOutFilter()
        let rows = try Row.fetchCursor(db, sql: "SELECT account_id, number FROM opt_outs")
        var loaded = Set<UInt64>()
        while let row = try rows.next() {
            loaded.insert(fingerprint(accountID: row[0], number: row[1]))
        }
        filter.fingerprints.withLock { $0 = loaded }
        return filter
    }

    /// Whether `number` may have opted out of `accountID`'s messages: false means it has not.
    package func mayHaveOptedOut(accountID: String, number: String) -> Bool {
        let print = Self.fingerprint(accountID: accountID, number: number)
        return fingerprints.withLock { $0.contains(print) }
    }

    /// Records an opt-out being written; call it in the writing transaction, before it commits.
    package func note(accountID: String, number: String) {
        let print = Self.fingerprint(accountID: accountID, number: number)
        _ = fingerprints.withLock { $0.insert(print) }
    }

    /// How many fingerprints the set holds.
    package var count: Int { fingerprints.withLock { $0.count } }

    private static func fingerprint(accountID: String, number: String) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(accountID)
        hasher.combine(number)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }
}
