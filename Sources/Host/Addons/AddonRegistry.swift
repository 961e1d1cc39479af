import Foundation
import Logging

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

/// The add-ons this daemon knows: every manifest found, the libraries loaded from them, and the
/// reason for each one that could not be loaded.
public final class AddonRegistry: Sendable {
    public let manifests: [Manifest]
    let libraries: [String: any AddonEndpoint]
    public let problems: [AddonLoadError]

    public func manifest(_ idOrShortID: String) -> Manifest? {
        manifests.first { $0.id == idOrShortID } ?? manifests.first { $0.shortID == idOrShortID }
    }

    func library(_ id: String) -> (any AddonEndpoint)? { libraries[id] }

    public func runtimeStatus(_ id: String) -> AddonRuntimeStatus? { libraries[id]?.status() }

    public func isolation(_ id: String) -> Manifest.Isolation? { libraries[id]?.isolation }

    /// Stops isolated runners (daemon shutdown).
    func stopRunners() {
        for library in libraries.values { (library as? IsolatedAddon)?.stop() }
    }

    public func isLoaded(_ id: String) -> Bool { libraries[id] != nil }

    public func loadedSHA256(_ id: String) -> String? { libraries[id]?.sha256 }

    /// Reads every manifest and loads every valid add-on. Never throws: a bad manifest or library is
    /// reported and skipped so the daemon starts with the others.
    init(
        settings: AddonSettings, stateRoot: URL, logger: Logger, clock: any WallClock,
        onEmit: @escaping @Sendable (EmittedRecord) -> Bool
    ) {
        var manifests: [Manifest] = []
        var libraries: [String: any AddonEndpoint] = [:]
        var problems: [AddonLoadError] = []
        var sources: [(directory: String, bundled: Bool)] = []
        if let bundled = settings.bundledDirectory { sources.append((bundled, true)) }
        sources += settings.directories.map { ($0, false) }
        let searchDirectories = settings.libraryDirectories.map { URL(fileURLWithPath: $0) }
        for source in sources {
            let files: [String]
            do {
                files = try FileManager.default.contentsOfDirectory(atPath: source.directory)
                    .filter { $0.hasSuffix(".json") && $0 != "schema.json" }.sorted()
            } catch {
                problems.append(
                    AddonLoadError(
                        file: source.directory,
                        reason: "cannot read the add-on directory: \(error.localizedDescription)"))
                continue
            }
            for file in files {
                let path = URL(fileURLWithPath: source.directory).appendingPathComponent(file).path
                do {
                    var manifest = try Manifest.load(file: path)
                    if let budget = settings.syncTimeouts[manifest.id] { manifest.syncTimeoutMs = budget }
                    if manifests.contains(where: { $0.id == manifest.id }) {
                        throw AddonLoadError(
                            file: path,
                            reason: "another manifest already declares id \(manifest.id); ids must be unique")
                    }
                    if !settings.loadLibraries {
                        manifests.append(manifest)
                        continue
                    }
                    let file = AddonLibrary.resolveLibrary(
                        manifest, searchDirectories: source.bundled ? searchDirectories : [])
                    let config = manifest.config.merging(settings.config[manifest.id] ?? [:]) { $1 }
                    let stateDirectory = stateRoot.appendingPathComponent(manifest.id)
                    let library: any AddonEndpoint
                    if (settings.isolation.overrides[manifest.id] ?? manifest.isolation) == .isolated {
                        let digest = try AddonLibrary.preflight(
                            manifest: manifest, library: file, requirePin: !source.bundled)
                        library = try IsolatedAddon(
                            manifest: manifest, sha256: digest, library: file, stateDirectory: stateDirectory,
                            config: config,
                            settings: settings.isolation,
                            runnerPath: settings.isolation.runnerPath
                                ?? BundledAddons.executableDirectory.appendingPathComponent("switchboard-addon-runner")
                                .path,
                            logger: logger, clock: clock, onEmit: onEmit)
                    } else {
                        library = try AddonLibrary.load(
                            manifest: manifest, library: file, requirePin: !source.bundled,
                            stateDirectory: stateDirectory,
                            config: config, logger: logger, clock: clock, onEmit: onEmit)
                    }
                    manifests.append(manifest)
                    libraries[manifest.id] = library
                    logger.info(
                        "add-on loaded",
                        metadata: [
                            "addon.id": "\(manifest.id)", "addon.version": "\(manifest.version)",
                            "isolation": "\(library.isolation.rawValue)",
                        ])
                } catch let error as ManifestError {
                    problems.append(
                        AddonLoadError(
                            file: path,
                            reason: error.problems.map { "\($0.field): \($0.message)" }.joined(separator: "; ")))
                } catch let error as AddonLoadError {
                    problems.append(error)
                } catch {
                    problems.append(AddonLoadError(file: path, reason: "\(error)"))
                }
            }
        }
        for problem in problems {
            logger.error("add-on not loaded", metadata: ["file": "\(problem.file)", "reason": "\(problem.reason)"])
        }
        self.manifests = manifests
        self.libraries = libraries
        self.problems = problems
    }
}
