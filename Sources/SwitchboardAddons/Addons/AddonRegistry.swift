import Foundation
import Logging
import SwitchboardCore
import Synchronization

/// Where add-ons come from and how they are set up.
public struct AddonSettings: Sendable, Equatable {
    /// The bundled manifests (`Manifests/` of the source tree); their libraries need no pin because
    /// they are built together with the daemon.
    public var bundledDirectory: String?
    /// Partners' manifest directories (`--addons-dir`); their libraries must be pinned.
    public var directories: [String] = []
    /// Where libraries named by a bare file name are looked for (the build's output directory).
    public var libraryDirectories: [String] = []
    /// Operator overrides of each add-on's `config`, by add-on id.
    public var config: [String: [String: String]] = [:]
    /// A declarative consent file applied at start (see `switchboard addons apply`).
    public var consentFile: String?
    /// How isolated add-ons are run.
    public var isolation = IsolationSettings()
    /// False for tools that only need the manifests (audit, consent files): no add-on code runs and
    /// no runner starts beside the daemon.
    public var loadLibraries = true
    /// Operator overrides of a manifest's `sync.timeout_ms`, by add-on id.
    public var syncTimeouts: [String: Int] = [:]

    public init() {}
}

/// The add-ons this daemon knows: every manifest found, the version of each add-on in service, and
/// the reason for each one that could not be loaded. `reload` swaps in a new version of an add-on
/// while the daemon runs (see `LoadedAddon` for why nothing is dropped or delivered twice).
public final class AddonRegistry: Sendable {
    let settings: AddonSettings
    let stateRoot: URL
    let logger: Logger
    let clock: any WallClock
    let onEmit: @Sendable (EmittedRecord) -> Bool

    struct Current {
        var byID: [String: LoadedAddon] = [:]
        /// In discovery order.
        var manifests: [Manifest] = [] {
            didSet {
                subscribers = [:]
                for manifest in manifests {
                    for hook in manifest.hooks { subscribers[hook, default: []].append(manifest.id) }
                }
            }
        }
        /// The ids of the add-ons each event type goes to, in discovery order: every status change
        /// asks, and copying the manifests out for it showed in profiles.
        private(set) var subscribers: [EventType: [String]] = [:]
        var problems: [AddonLoadError] = []
    }

    let current = Mutex(Current())
    /// Library paths this process has dlopened, with the digest then: dlopen answers the same path
    /// with the copy already mapped, so an in-process reload needs a new file.
    static let dlopened = Mutex<[String: String]>([:])
    /// Reloads, one at a time, off the concurrency pool (starting a runner blocks until it is ready).
    let reloads = DispatchQueue(label: "switchboard.addons.reload")

    public var manifests: [Manifest] { current.withLock { $0.manifests } }

    /// The ids of the add-ons that subscribe to `type`.
    func subscribers(of type: EventType) -> [String] { current.withLock { $0.subscribers[type] ?? [] } }

    /// The manifests found at start that could not be loaded, and why.
    public var problems: [AddonLoadError] { current.withLock { $0.problems } }

    /// The manifest `idOrShortID` names: by id, or by a short id that one add-on alone has
    /// (`Manifest.named`).
    public func manifest(_ idOrShortID: String) -> Manifest? { Manifest.named(idOrShortID, in: manifests) }

    /// How URLs and answers name `manifest`: its short id, or its full id when another add-on has
    /// the same short id.
    public func handle(of manifest: Manifest) -> String { manifest.handle(among: manifests) }

    func loaded(_ id: String) -> LoadedAddon? { current.withLock { $0.byID[id] } }

    /// Runs `body` with the add-on's version in service, which stays in service until `body` returns;
    /// nil when the add-on has no loaded library.
    func withAddon<T>(_ id: String, _ body: (Manifest, any AddonEndpoint) async throws -> T) async rethrows -> T? {
        guard let addon = lease(id) else { return nil }
        defer { addon.release() }
        guard let endpoint = addon.endpoint else { return nil }
        return try await body(addon.manifest, endpoint)
    }

    private func lease(_ id: String) -> LoadedAddon? {
        while true {
            guard let addon = loaded(id) else { return nil }
            if addon.acquire() { return addon }
            // Retired between the lookup and the lease: the registry already holds its successor.
        }
    }

    public func runtimeStatus(_ id: String) -> AddonRuntimeStatus? {
        guard let addon = loaded(id), var status = addon.endpoint?.status() else { return nil }
        status.inFlight = addon.inFlight
        return status
    }

    public func isolation(_ id: String) -> Manifest.Isolation? { loaded(id)?.endpoint?.isolation }

    /// Stops isolated runners (daemon shutdown).
    func stopRunners() {
        for addon in current.withLock({ Array($0.byID.values) }) { (addon.endpoint as? IsolatedAddon)?.stop() }
    }

    public func isLoaded(_ id: String) -> Bool { loaded(id)?.endpoint != nil }

    public func loadedSHA256(_ id: String) -> String? { loaded(id)?.endpoint?.sha256 }

    /// Reads every manifest and loads every valid add-on. Never throws: a bad manifest or library is
    /// reported and skipped so the daemon starts with the others.
    init(
        settings: AddonSettings, stateRoot: URL, logger: Logger, clock: any WallClock,
        onEmit: @escaping @Sendable (EmittedRecord) -> Bool
    ) {
        self.settings = settings
        self.stateRoot = stateRoot
        self.logger = logger
        self.clock = clock
        self.onEmit = onEmit
        var loaded = Current()
        var problems: [(order: Int, problem: AddonLoadError)] = []
        var sources: [(directory: String, bundled: Bool)] = []
        if let bundled = settings.bundledDirectory { sources.append((bundled, true)) }
        sources += settings.directories.map { ($0, false) }
        // First every manifest, in discovery order; the first to declare an id keeps it.
        var found: [(order: Int, path: String, manifest: Manifest, bundled: Bool)] = []
        var order = 0
        for source in sources {
            let files: [String]
            do {
                files = try FileManager.default.contentsOfDirectory(atPath: source.directory)
                    .filter { $0.hasSuffix(".json") && $0 != "schema.json" }.sorted()
            } catch {
                problems.append(
                    (
                        order,
                        AddonLoadError(
                            file: source.directory,
                            reason: "cannot read the add-on directory: \(error.localizedDescription)")
                    ))
                order += 1
                continue
            }
            for file in files {
                defer { order += 1 }
                let path = URL(fileURLWithPath: source.directory).appendingPathComponent(file).path
                do {
                    let manifest = try readManifest(path)
                    if found.contains(where: { $0.manifest.id == manifest.id }) {
                        throw AddonLoadError(
                            file: path,
                            reason: "another manifest already declares id \(manifest.id); ids must be unique")
                    }
                    found.append((order, path, manifest, source.bundled))
                } catch {
                    problems.append((order, Self.loadError(error, file: path)))
                }
            }
        }
        // Then the libraries. Isolated add-ons start at once, each on a thread of its own: starting a
        // runner waits for its READY (up to 10 s for one whose `create` hangs), and one after
        // another a few broken add-ons kept the daemon from listening for as many times that.
        // In-process libraries are loaded here, in order, as the host bridge expects.
        let outcomes = Mutex<[Int: Result<LoadedAddon, any Error>]>([:])
        let isolatedStarts = DispatchGroup()
        for candidate in found {
            let isolated =
                (settings.isolation.overrides[candidate.manifest.id] ?? candidate.manifest.isolation) == .isolated
            guard isolated, settings.loadLibraries else {
                let outcome = Result(catching: { try self.load(candidate.manifest, bundled: candidate.bundled) })
                outcomes.withLock { $0[candidate.order] = outcome }
                continue
            }
            isolatedStarts.enter()
            Thread.detachNewThread { [self] in
                let outcome = Result(catching: { try self.load(candidate.manifest, bundled: candidate.bundled) })
                outcomes.withLock { $0[candidate.order] = outcome }
                isolatedStarts.leave()
            }
        }
        isolatedStarts.wait()
        let results = outcomes.withLock { $0 }
        for candidate in found {
            switch results[candidate.order] {
            case .success(let addon)?:
                loaded.byID[candidate.manifest.id] = addon
                loaded.manifests.append(candidate.manifest)
            case .failure(let error)?:
                problems.append((candidate.order, Self.loadError(error, file: candidate.path)))
            case nil:
                break
            }
        }
        let ordered = problems.sorted { $0.order < $1.order }.map(\.problem)
        for problem in ordered {
            logger.error("add-on not loaded", metadata: ["file": "\(problem.file)", "reason": "\(problem.reason)"])
        }
        loaded.problems = ordered
        current.withLock { $0 = loaded }
    }

    /// A manifest file with the operator's overrides applied.
    func readManifest(_ path: String) throws -> Manifest {
        var manifest = try Manifest.load(file: path)
        if let budget = settings.syncTimeouts[manifest.id] { manifest.syncTimeoutMs = budget }
        return manifest
    }

    /// Loads the add-on a manifest describes, in process or in its own runner as configured.
    func load(_ manifest: Manifest, bundled: Bool) throws -> LoadedAddon {
        guard settings.loadLibraries else {
            return LoadedAddon(manifest: manifest, endpoint: nil, bundled: bundled, fingerprint: "")
        }
        let file = libraryFile(manifest, bundled: bundled)
        let config = manifest.config.merging(settings.config[manifest.id] ?? [:]) { $1 }
        let stateDirectory = stateRoot.appendingPathComponent(manifest.id)
        let endpoint: any AddonEndpoint
        if (settings.isolation.overrides[manifest.id] ?? manifest.isolation) == .isolated {
            let digest = try AddonLibrary.preflight(manifest: manifest, library: file, requirePin: !bundled)
            endpoint = try IsolatedAddon(
                manifest: manifest, sha256: digest, library: file, stateDirectory: stateDirectory, config: config,
                settings: settings.isolation,
                runnerPath: settings.isolation.runnerPath
                    ?? BundledAddons.executableDirectory.appendingPathComponent("switchboard-addon-runner").path,
                logger: logger, clock: clock, onEmit: onEmit)
        } else {
            let digest = try AddonLibrary.preflight(manifest: manifest, library: file, requirePin: !bundled)
            if let mapped = Self.dlopened.withLock({ $0[file.path] }), mapped != digest {
                throw AddonLoadError(
                    file: manifest.file,
                    reason:
                        "\(file.path) changed since this daemon loaded it, and dlopen would answer with the copy already in memory; give the new build a new file name in library.path (e.g. with its version in it), or run the add-on isolated"
                )
            }
            let library = try AddonLibrary.load(
                manifest: manifest, library: file, requirePin: !bundled, stateDirectory: stateDirectory,
                config: config, logger: logger, clock: clock, onEmit: onEmit)
            Self.dlopened.withLock { $0[file.path] = library.sha256 }
            endpoint = library
        }
        logger.info(
            "add-on loaded",
            metadata: [
                "addon.id": "\(manifest.id)", "addon.version": "\(manifest.version)",
                "isolation": "\(endpoint.isolation.rawValue)",
            ])
        return LoadedAddon(
            manifest: manifest, endpoint: endpoint, bundled: bundled,
            fingerprint: Self.fingerprint(manifest: manifest.file, library: file))
    }

    func libraryFile(_ manifest: Manifest, bundled: Bool) -> URL {
        AddonLibrary.resolveLibrary(
            manifest,
            searchDirectories: bundled ? settings.libraryDirectories.map { URL(fileURLWithPath: $0) } : [])
    }

    static func fingerprint(manifest: String, library: URL) -> String {
        let manifestDigest = (try? AddonLibrary.sha256(of: URL(fileURLWithPath: manifest))) ?? "unreadable"
        let libraryDigest = (try? AddonLibrary.sha256(of: library)) ?? "unreadable"
        return "\(manifestDigest):\(libraryDigest)"
    }

    static func loadError(_ error: any Error, file: String) -> AddonLoadError {
        switch error {
        case let error as ManifestError:
            AddonLoadError(
                file: file, reason: error.problems.map { "\($0.field): \($0.message)" }.joined(separator: "; "))
        case let error as AddonLoadError: error
        default: AddonLoadError(file: file, reason: "\(error)")
        }
    }
}
