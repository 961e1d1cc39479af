import Foundation
import GRDB
import SwitchboardCore

/// Recomputes the ledger's hash chain and checks every checkpoint (stored, and exported copies).
public enum LedgerVerifier {
    public struct Outcome: Sendable, Equatable {
        public var rows: Int
        public var checkpoints: Int
        public var failure: Ledger.VerificationFailure?
        /// How many distinct keys signed the checkpoints that were checked (stored and exported); 0
        /// when verification failed.
        public var signingKeys = 0
        /// How many of `signingKeys` are not the host's current key (retired keys).
        public var retiredSigningKeys = 0
    }

    /// The first column of a row whose SQLite storage class is not the one the ledger writes, or
    /// NULL. The hash covers values as read back, and a value cast to another class (`addon_id` as a
    /// BLOB, `at` as a BLOB) reads back the same yet no longer matches `addon_id = ?` or a time range:
    /// an edit that would hide a row from every audit query without breaking the chain.
    static let mistypedColumn = """
        CASE WHEN typeof(at) != 'integer' THEN 'at'
            WHEN typeof(addon_id) != 'text' THEN 'addon_id'
            WHEN typeof(addon_version) != 'text' THEN 'addon_version'
            WHEN typeof(account_id) != 'text' THEN 'account_id'
            WHEN typeof(event_id) != 'text' THEN 'event_id'
            WHEN typeof(event_type) != 'text' THEN 'event_type'
            WHEN typeof(fields) != 'text' THEN 'fields'
            WHEN typeof(consent_id) NOT IN ('text', 'null') THEN 'consent_id'
            WHEN typeof(prev_hash) != 'text' THEN 'prev_hash'
            WHEN typeof(hash) != 'text' THEN 'hash'
        END
        """

    /// Checks every checkpoint's signature, then the chain from the newest compaction anchor on.
    ///
    /// - Parameters:
    ///   - external: exported copies of checkpoints, checked like the stored ones.
    ///   - hostKey: the current signing key (base64 raw Ed25519 public key). A checkpoint must be
    ///     signed by it or by one of `retiredKeys`; any other key fails verification. With nil, any
    ///     key whose signature is valid is accepted (only for rotating after the key was lost).
    ///   - retiredKeys: public keys that signed checkpoints before a rotation (`audit rotate-key`).
    /// - Returns: the counts, or the first problem in `failure`. Throws only what GRDB throws.
    public static func verify(
        _ db: Database, external: [Checkpoint], hostKey: String?, retiredKeys: Set<String> = []
    ) throws -> Outcome {
        let stored = try Checkpoint.fetchAll(db, sql: "SELECT * FROM ledger_checkpoints ORDER BY id")
        func fail(_ seq: Int64, _ reason: String, rows: Int) -> Outcome {
            Outcome(rows: rows, checkpoints: 0, failure: .init(seq: seq, reason: reason))
        }
        let trusted = hostKey.map { retiredKeys.union([$0]) }
        for checkpoint in stored + external where !checkpoint.isAuthentic(trustedKeys: trusted) {
            return fail(
                checkpoint.seq, "the checkpoint at sequence \(checkpoint.seq) has an invalid signature or another key",
                rows: 0)
        }
        // Rows before the newest compaction anchor were removed by retention on purpose.
        let anchor = (stored + external).filter { $0.kind == .compaction }.max { $0.seq < $1.seq }
        var expectedSeq = (anchor?.seq ?? 0) + 1
        var prev = anchor?.hash ?? Ledger.genesis
        let checkpointsBySeq = Dictionary(
            grouping: (stored + external).filter { $0.kind == .periodic && $0.seq >= expectedSeq }, by: \.seq)
        var count = 0
        var verifiedCheckpoints = 0
        let cursor = try Row.fetchCursor(
            db, sql: "SELECT *, \(Self.mistypedColumn) AS mistyped FROM ledger WHERE seq >= ? ORDER BY seq",
            arguments: [expectedSeq])
        while let row = try cursor.next() {
            let entry = try LedgerEntry(row: row)
            if entry.seq != expectedSeq {
                return fail(expectedSeq, "row \(expectedSeq) is missing (the next row is \(entry.seq))", rows: count)
            }
            if let column: String = row["mistyped"] {
                return fail(
                    entry.seq,
                    "row \(entry.seq) was altered (its \(column) is stored as another type than the ledger writes, "
                        + "which hides the row from queries while its hash still matches)", rows: count)
            }
            if entry.prevHash != prev {
                return fail(
                    entry.seq,
                    "row \(entry.seq) does not chain to the row before it (inserted, removed or reordered rows)",
                    rows: count)
            }
            let recomputed = Ledger.hash(
                prev: prev, seq: entry.seq, at: entry.at, addonID: entry.addonID, addonVersion: entry.addonVersion,
                accountID: entry.accountID, eventID: entry.eventID, eventType: entry.eventType,
                fields: entry.fields.joined(separator: ","), consentID: entry.consentID)
            if recomputed != entry.hash {
                return fail(
                    entry.seq, "row \(entry.seq) was altered (its hash does not match its contents)", rows: count)
            }
            for checkpoint in checkpointsBySeq[entry.seq] ?? [] {
                if checkpoint.hash != entry.hash {
                    return fail(
                        entry.seq, "row \(entry.seq) differs from the signed checkpoint taken at that row", rows: count)
                }
                verifiedCheckpoints += 1
            }
            prev = entry.hash
            expectedSeq += 1
            count += 1
        }
        if let beyond = checkpointsBySeq.keys.filter({ $0 >= expectedSeq }).min() {
            return fail(
                expectedSeq,
                "the ledger ends at row \(expectedSeq - 1) but a signed checkpoint covers rows up to \(beyond): the tail was truncated",
                rows: count)
        }
        // The rows hash as they should, but an index edited to leave rows out (a partial index put
        // in place through `writable_schema`) hides them from every query that uses it. SQLite
        // compares each of the table's indexes with its rows (`integrity_check` of one table).
        let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check(ledger)")
        if integrity != ["ok"] {
            return fail(
                expectedSeq - 1,
                "the ledger's indexes do not match its rows (\(integrity.prefix(3).joined(separator: "; "))): an index "
                    + "altered this way hides rows from audit queries; keep a copy for investigation, then run REINDEX ledger",
                rows: count)
        }
        let signers = Set((stored + external).map(\.publicKey))
        return Outcome(
            rows: count, checkpoints: verifiedCheckpoints, failure: nil, signingKeys: signers.count,
            retiredSigningKeys: signers.subtracting([hostKey].compactMap { $0 }).count)
    }

    /// A directory of exported checkpoints that cannot be read as one, or a file in it that is no
    /// checkpoint: named, with what to do.
    public struct ExportProblem: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads exported checkpoint files (`checkpoint-<seq>.json`): every `*.json` file in `directory`.
    /// - Throws: `ExportProblem` naming the directory or the file.
    public static func loadExported(directory: String) throws -> [Checkpoint] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw ExportProblem(
                description:
                    "--checkpoints \(directory) does not exist; give the directory the daemon exports signed checkpoints to (ledger.export_dir) or a copy of it"
            )
        }
        guard isDirectory.boolValue else {
            throw ExportProblem(
                description:
                    "--checkpoints \(directory) is a file, not a directory; give the directory that holds the exported checkpoint files"
            )
        }
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }
                .sorted()
        } catch {
            throw ExportProblem(description: "--checkpoints \(directory) cannot be read: \(error.localizedDescription)")
        }
        return try files.map { file in
            let path = URL(fileURLWithPath: directory).appendingPathComponent(file)
            do {
                return try JSONDecoder().decode(Checkpoint.self, from: try Data(contentsOf: path))
            } catch {
                throw ExportProblem(
                    description:
                        "\(path.path) is not a checkpoint exported by `audit checkpoints` or the daemon; keep only checkpoint files in \(directory)"
                )
            }
        }
    }
}
