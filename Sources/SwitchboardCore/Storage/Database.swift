import Foundation
import GRDB

/// How hard SQLite works to keep a commit across a power loss.
public enum Durability: String, Sendable, Codable, CaseIterable {
    /// WAL with `synchronous=NORMAL`: a commit survives a crash of the daemon, not a power loss.
    case normal
    /// WAL with `synchronous=FULL`: a commit also survives a power loss, at the cost of an fsync per commit.
    case full
}

/// Opens the daemon's SQLite database: WAL, foreign keys, migrations applied.
public enum SwitchboardDatabase {
    /// The page size of a new database file.
    static let pageSize = 2048

    /// Opens (creating when missing) the file at `path` and applies `migrations` not yet applied, in
    /// their order; the default is the core's own schema.
    public static func open(
        at path: String, durability: Durability, migrations: [SchemaMigration] = CoreSchema.migrations
    ) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // Every commit writes each page it touched, whole, to the WAL; a group commit carries a
            // handful of messages, each adding a short row to the tail of a few tables and indexes.
            // 2 KiB pages write 37% fewer bytes per message than the default 4 KiB, while the
            // larger add-on rows (ledger, outbox) still fit several to a page. It only takes effect
            // on a new database file; an existing one keeps its page size.
            try db.execute(sql: "PRAGMA page_size = \(pageSize)")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // Erased data is overwritten with zeros instead of lingering in free pages and cells
            // (GDPR article 17): an erasure must not be undone by reading the file.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB's pool sets synchronous=NORMAL on its writer after opening, so FULL must come afterwards.
        if durability == .full {
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.identifier) { db in try db.execute(sql: migration.sql) }
        }
        try migrator.migrate(pool)
        return pool
    }
}
