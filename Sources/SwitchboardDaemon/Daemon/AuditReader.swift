import Foundation
import GRDB
import Logging
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore

/// The data directory as the read-only audit commands (`audit verify`, `query`, `export`, `key`)
/// see it: the database opened read-only and the secrets read, never written.
///
/// Unlike `Daemon`, it creates nothing: no `secrets/` directory, no operator token or other secret,
/// no migration, no `-wal` or `-shm` file beside a stopped daemon's database. So an auditor can
/// verify a copy of a data directory they may not write to (another user's, or one made read-only
/// to keep it as evidence), and an audit leaves the evidence as it found it.
package struct AuditReader: Sendable {
    let layout: DataDirectory
    /// Nil when the data directory has no database yet.
    let database: DatabaseQueue?
    let manifests: [Manifest]

    /// Opens the data directory `config` names; one without a database knows the bundled add-ons
    /// only, and every read of what was shared throws naming the missing file. Throws `ConfigurationError` naming `data_dir` when the database
    /// cannot be opened read-only.
    package init(config: ServeConfiguration, logger: Logger) throws {
        layout = DataDirectory(readingAt: config.dataDir)
        database = try Self.openReadOnly(layout.databasePath)
        var settings = config.addons
        if settings.bundledDirectory == nil { settings.bundledDirectory = BundledAddons.manifestDirectory() }
        manifests = AuditedAddons.manifests(settings: settings, logger: logger)
    }

    /// The database at `path` opened read-only, or nil when there is no such file.
    ///
    /// An ordinary read-only open of a WAL database still writes: it creates the `-wal` and `-shm`
    /// files when they are missing (and fails where the directory is not writable), and updates
    /// the `-shm` index. So:
    /// - Without a `-wal` file, the database file holds every committed transaction, and it is
    ///   opened as immutable: no lock, no `-wal` or `-shm` file.
    /// - With one (the daemon runs, or stopped: a stopped `serve` leaves both files), that log
    ///   holds committed rows the file lacks. It is read through the `-shm` index, opened
    ///   read-only, which SQLite then copies to memory instead of updating.
    static func openReadOnly(_ path: String) throws -> DatabaseQueue? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let hasLog = FileManager.default.fileExists(atPath: path + "-wal")
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        // SQLite URI file names (compiled in on Debian, `SQLITE_USE_URI`) carry the two options.
        let uri =
            URL(fileURLWithPath: path).absoluteString + (hasLog ? "?mode=ro&readonly_shm=1" : "?mode=ro&immutable=1")
        do {
            return try DatabaseQueue(path: uri, configuration: configuration)
        } catch {
            let fix =
                hasLog && !FileManager.default.fileExists(atPath: path + "-shm")
                ? "\(path)-wal holds part of the database but \(path)-shm is missing beside it; copy both with the database, or in a writable copy fold the log into the file first (sqlite3 switchboard.sqlite 'PRAGMA wal_checkpoint(TRUNCATE)') and audit that copy"
                : "check that the file is a Switchboard database and readable by this user"
            throw ConfigurationError(
                source: "data_dir",
                problems: [FieldError("data_dir", "\(path) cannot be opened read-only (\(error)); \(fix)")])
        }
    }

    /// The database, or the error an audit that needs one reports.
    private func requireDatabase() throws -> DatabaseQueue {
        guard let database else { throw DataDirectory.noDatabase(at: layout.databasePath) }
        return database
    }

    /// The full id of the add-on an audit names (id or short id of a manifest found, or an id the
    /// ledger has rows for); nil when neither knows it.
    package func auditedAddonID(_ given: String) throws -> String? {
        try AuditedAddons.id(given, manifests: manifests, nil)
            ?? database?.read { db in try AuditedAddons.id(given, manifests: [], db) }
    }

    /// Whether an audit may name `accountID`: an account of the data directory or one its ledger
    /// has rows for; false without a database.
    package func auditedAccountIsKnown(_ accountID: String) throws -> Bool {
        try database?.read { db in try AuditedAccounts.isKnown(accountID, db) } ?? false
    }

    /// Every add-on id an audit can name, sorted.
    package func auditableAddonIDs() throws -> [String] {
        let manifests = self.manifests
        return try database?.read { db in try AuditedAddons.known(manifests: manifests, db) }
            ?? AuditedAddons.known(manifests: manifests, nil)
    }

    /// The ledger rows `query` selects. Throws `ConfigurationError` when the data directory holds no
    /// database: an audit of a mistyped directory must not read as "nothing was shared".
    package func ledgerEntries(_ query: Ledger.Query) throws -> [LedgerEntry] {
        try requireDatabase().read { db in try Ledger.query(db, query) }
    }

    /// Shares per add-on × category × day; throws as `ledgerEntries` does.
    package func shareSummary(_ query: Ledger.Query) throws -> [ShareSummary.DayCount] {
        try requireDatabase().read { db in try ShareSummary.perDay(db, query) }
    }

    /// The data-subject access report of an account as pretty JSON, or nil when there is no such
    /// account; throws as `ledgerEntries` does.
    package func accessReport(accountID: String, now: Date = Date()) throws -> String? {
        guard
            let report = try requireDatabase().read({ db in
                try DataSubjectReport.build(db, accountID: accountID, now: now)
            })
        else { return nil }
        return String(decoding: try SnakeCaseJSON.encoder(pretty: true).encode(report), as: UTF8.self)
    }

    /// The public key (base64) that signs checkpoints, read from `secrets/ledger-ed25519.key`; nil
    /// when the file is missing or empty beside an empty ledger (`serve` generates it there). Throws
    /// the `ConfigurationError` that stops `serve` when the key is needed but missing or unusable.
    package func ledgerPublicKey() throws -> String? {
        guard let database else {
            guard case .valid(let key) = layout.storedLedgerKey() else { return nil }
            return key.publicKey.rawRepresentation.base64EncodedString()
        }
        return try layout.ledgerPublicKey(database: database)
    }

    /// Verifies the chain and every checkpoint, stored and exported (from `checkpointDirectory`),
    /// as `Daemon.verifyLedger` does: checkpoints must be signed by the current key or by a retired
    /// key in `secrets/ledger-public-keys`. Throws `ConfigurationError` when there is no database,
    /// the key is missing beside a ledger, or `secrets/ledger-public-keys` is unreadable; what
    /// reading `checkpointDirectory` throws; and what GRDB throws.
    package func verifyLedger(checkpointDirectory: String? = nil) throws -> LedgerVerifier.Outcome {
        let database = try requireDatabase()
        let external = try checkpointDirectory.map(LedgerVerifier.loadExported(directory:)) ?? []
        // Without a key (an empty ledger whose key file is missing) no checkpoint may pass as this
        // host's: an empty key names no key a signature can be checked with, where nil would
        // accept any key.
        let key = try layout.ledgerPublicKey(database: database) ?? ""
        let retired = Set(try layout.retiredLedgerKeys().map(\.publicKey))
        return try database.read { db in
            try LedgerVerifier.verify(db, external: external, hostKey: key, retiredKeys: retired)
        }
    }
}
