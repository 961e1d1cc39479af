import Foundation
import SwitchboardCore

/// What a reload did, for `switchboard addons reload` and `POST /v1/admin/addons/{id}/reload`.
public struct AddonReload: Sendable, Encodable, Equatable {
    public var id: String
    /// `reloaded`, or `unchanged` when a SIGHUP found the manifest and library as they were.
    public var outcome: String
    public var fromVersion: String
    public var toVersion: String
    public var isolation: String
    public var librarySha256: String?
}

/// Why a reload did not happen; the version in service keeps running.
public struct AddonReloadError: Error, CustomStringConvertible, Sendable {
    public var id: String
    public var reason: String
    /// True when no loaded add-on has this id (HTTP 404 rather than 422).
    public var unknown = false

    public var description: String { "\(id): \(reason)" }
}

extension AddonRegistry {
    /// Loads the add-on's manifest again, and the library it names, and puts the new version in
    /// service. The old version finishes the work it holds first (see `LoadedAddon`). When anything
    /// about the new version is wrong, the old one stays in service and the error says why.
    public func reload(_ idOrShortID: String, onlyIfChanged: Bool = false) async throws -> AddonReload {
        guard let id = manifest(idOrShortID)?.id, let old = loaded(id), old.endpoint != nil else {
            throw AddonReloadError(
                id: idOrShortID,
                reason:
                    "no add-on with this id is loaded\(Manifest.suggestion(for: idOrShortID, in: manifests)); `switchboard addons list` shows the loaded ones (an add-on that failed at start needs a restart)",
                unknown: true)
        }
        return try await withCheckedThrowingContinuation { continuation in
            reloads.async {
                continuation.resume(with: Result { try self.swap(old, onlyIfChanged: onlyIfChanged) })
            }
        }
    }

    /// Reloads every loaded add-on whose manifest or library file changed (SIGHUP). One that fails
    /// is logged and keeps its current version; the others still reload.
    public func reloadChanged() async -> [Result<AddonReload, AddonReloadError>] {
        var results: [Result<AddonReload, AddonReloadError>] = []
        for manifest in manifests where isLoaded(manifest.id) {
            do {
                results.append(.success(try await reload(manifest.id, onlyIfChanged: true)))
            } catch let error as AddonReloadError {
                results.append(.failure(error))
            } catch {
                results.append(.failure(AddonReloadError(id: manifest.id, reason: "\(error)")))
            }
        }
        return results
    }

    /// Runs on `reloads`, so two reloads never race for the same add-on.
    private func swap(_ requested: LoadedAddon, onlyIfChanged: Bool) throws -> AddonReload {
        let id = requested.manifest.id
        // A reload queued behind another one starts from what that one left in service.
        let old = loaded(id) ?? requested
        func failure(_ reason: String) -> AddonReloadError {
            logger.error(
                "add-on not reloaded; the running version stays",
                metadata: ["addon.id": "\(id)", "reason": "\(reason)"])
            return AddonReloadError(id: id, reason: reason)
        }
        let manifest: Manifest
        do { manifest = try readManifest(old.manifest.file) } catch {
            throw failure(Self.loadError(error, file: old.manifest.file).reason)
        }
        guard manifest.id == id else {
            throw failure(
                "\(old.manifest.file) now declares id \(manifest.id); an add-on keeps its id across versions (a new id is a new add-on: restart the daemon to load it)"
            )
        }
        if onlyIfChanged,
            Self.fingerprint(manifest: manifest.file, library: libraryFile(manifest, bundled: old.bundled))
                == old.fingerprint
        {
            return outcome("unchanged", from: old, to: old)
        }
        let next: LoadedAddon
        do { next = try load(manifest, bundled: old.bundled) } catch {
            throw failure(Self.loadError(error, file: manifest.file).reason)
        }
        current.withLock { current in
            current.byID[id] = next
            if let index = current.manifests.firstIndex(where: { $0.id == id }) { current.manifests[index] = manifest }
        }
        old.retire()
        logger.info(
            "add-on reloaded",
            metadata: [
                "addon.id": "\(id)", "from_version": "\(old.manifest.version)", "to_version": "\(manifest.version)",
            ])
        return outcome("reloaded", from: old, to: next)
    }

    private func outcome(_ outcome: String, from old: LoadedAddon, to next: LoadedAddon) -> AddonReload {
        AddonReload(
            id: next.manifest.id, outcome: outcome, fromVersion: old.manifest.version, toVersion: next.manifest.version,
            isolation: (next.endpoint?.isolation ?? .inProcess).rawValue, librarySha256: next.endpoint?.sha256)
    }
}
