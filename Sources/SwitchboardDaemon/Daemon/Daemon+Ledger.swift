import Foundation
import GRDB
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore

extension Daemon {
    public func ledgerEntries(_ query: Ledger.Query) async throws -> [LedgerEntry] {
        try await addons.writer.pool.read { db in try Ledger.query(db, query) }
    }

    public func shareSummary(_ query: Ledger.Query) async throws -> [ShareSummary.DayCount] {
        try await addons.writer.pool.read { db in try ShareSummary.perDay(db, query) }
    }

    /// The data-subject access report of an account as pretty JSON, or nil when there is no such account.
    public func accessReport(accountID: String) async throws -> String? {
        let now = clock.now()
        let report = try await addons.writer.pool.read { db in
            try DataSubjectReport.build(db, accountID: accountID, now: now)
        }
        guard let report else { return nil }
        let encoder = SnakeCaseJSON.encoder(pretty: true)
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    public func checkpoints() async throws -> [Checkpoint] {
        try await addons.writer.pool.read { db in
            try Checkpoint.fetchAll(db, sql: "SELECT * FROM ledger_checkpoints ORDER BY id")
        }
    }

    /// Verifies the chain and every checkpoint, stored and exported (from `checkpointDirectory`).
    /// Checkpoints must be signed by the current key or by a retired key listed in
    /// `secrets/ledger-public-keys` (see `LedgerKeyRotation`). Throws when the checkpoint directory
    /// or that file cannot be read, and what GRDB throws.
    public func verifyLedger(checkpointDirectory: String? = nil) async throws -> LedgerVerifier.Outcome {
        try await Self.verifyLedger(
            addons: addons, ledger: ledger, dataDirectory: dataDirectory.path, checkpointDirectory: checkpointDirectory)
    }

    /// The verification itself, for the daemon and for the console's verification page.
    static func verifyLedger(
        addons: AddonPlatform, ledger: LedgerMaintenance, dataDirectory: String, checkpointDirectory: String?
    ) async throws -> LedgerVerifier.Outcome {
        let external = try checkpointDirectory.map(LedgerVerifier.loadExported(directory:)) ?? []
        let key = ledger.publicKey
        let retired = Set(try DataDirectory(path: dataDirectory).retiredLedgerKeys().map(\.publicKey))
        return try await addons.writer.pool.read { db in
            try LedgerVerifier.verify(db, external: external, hostKey: key, retiredKeys: retired)
        }
    }
}
