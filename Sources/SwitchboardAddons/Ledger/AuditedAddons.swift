import Foundation
import GRDB
import Logging
import SwitchboardCore

extension AddonPlatform {
    /// The add-on an audit asks about: a loaded add-on by its id or short id, or one no longer loaded
    /// by the id its ledger rows carry. Nil when neither knows it, so an audit never answers "no
    /// shares" to a typo.
    public func auditedAddonID(_ given: String) async throws -> String? {
        let manifests = registry.manifests
        return try await writer.pool.read { db in try AuditedAddons.id(given, manifests: manifests, db) }
    }

    /// Every add-on an audit can name: those loaded now and those the ledger has rows for, sorted.
    public func auditableAddonIDs() async throws -> [String] {
        let manifests = registry.manifests
        return try await writer.pool.read { db in try AuditedAddons.known(manifests: manifests, db) }
    }
}

/// Which add-on an audit names, answered from the manifests found and the ledger's rows; shared by
/// the running daemon and the audit commands that only read a data directory.
package enum AuditedAddons {
    /// The manifests `settings` points at, read without loading any library or starting a runner;
    /// a manifest that cannot be read is left out (and logged to `logger`).
    package static func manifests(settings: AddonSettings, logger: Logger) -> [Manifest] {
        var settings = settings
        settings.loadLibraries = false
        // No library is loaded, so no add-on state directory is ever made under `stateRoot`.
        return AddonRegistry(
            settings: settings, stateRoot: URL(fileURLWithPath: "/nonexistent"), logger: logger,
            clock: SystemWallClock(), onEmit: { _ in false }
        ).manifests
    }

    /// The full id of the add-on `given` names: a manifest's id or short id, else an id the ledger
    /// has rows for, or the short id (last label) of exactly one of those (`db` nil: no ledger
    /// yet). Nil when neither knows it, or when a short id fits two add-ons only the ledger knows.
    package static func id(_ given: String, manifests: [Manifest], _ db: Database?) throws -> String? {
        if let manifest = Manifest.named(given, in: manifests) { return manifest.id }
        guard let db else { return nil }
        if let recorded = try String.fetchOne(
            db, sql: "SELECT addon_id FROM ledger WHERE addon_id = ? LIMIT 1", arguments: [given])
        {
            return recorded
        }
        // An add-on no longer loaded (or not found by a command that reads only the data
        // directory) is still named by its short id, as a loaded one is.
        let matches = try String.fetchAll(db, sql: "SELECT DISTINCT addon_id FROM ledger").filter {
            Manifest.shortID(of: $0) == given
        }
        return matches.count == 1 ? matches[0] : nil
    }

    /// Every add-on id of `manifests` and of the ledger's rows (`db` nil: no ledger yet), sorted.
    package static func known(manifests: [Manifest], _ db: Database?) throws -> [String] {
        let recorded = try db.map { try String.fetchAll($0, sql: "SELECT DISTINCT addon_id FROM ledger") } ?? []
        return Set(manifests.map(\.id) + recorded).sorted()
    }
}
