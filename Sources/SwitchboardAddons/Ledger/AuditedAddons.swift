import GRDB
import SwitchboardCore

extension AddonPlatform {
    /// The add-on an audit asks about: a loaded add-on by its id or short id, or one no longer loaded
    /// by the id its ledger rows carry. Nil when neither knows it, so an audit never answers "no
    /// shares" to a typo.
    public func auditedAddonID(_ given: String) async throws -> String? {
        if let manifest = registry.manifest(given) { return manifest.id }
        return try await writer.pool.read { db in
            try String.fetchOne(
                db, sql: "SELECT addon_id FROM ledger WHERE addon_id = ? LIMIT 1", arguments: [given])
        }
    }

    /// Every add-on an audit can name: those loaded now and those the ledger has rows for, sorted.
    public func auditableAddonIDs() async throws -> [String] {
        let recorded = try await writer.pool.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT addon_id FROM ledger")
        }
        return Set(registry.manifests.map(\.id) + recorded).sorted()
    }
}
