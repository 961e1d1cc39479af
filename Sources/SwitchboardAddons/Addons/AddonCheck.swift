import Foundation
import Logging
import SwitchboardCore

/// What a partner's add-on looks like to the host: the manifest checked, the library pinned, then
/// loaded and instantiated in a `switchboard-addon-runner`, as the daemon loads an isolated add-on
/// (the same descriptor checks as in process), without any customer data. In a runner, an add-on
/// that crashes, exits or hangs in its constructor, entry or `create` is reported, not suffered.
public enum AddonCheck {
    public struct Report: Sendable {
        public var manifest: Manifest?
        public var sha256: String?
        public var problems: [String]
        public var ok: Bool { problems.isEmpty }
    }

    /// `runner`: the `switchboard-addon-runner` executable. Loading gives up after 10 s.
    public static func run(manifestFile: String, runner: String, logger: Logger) -> Report {
        if let problem = ManifestFile.notRegular(manifestFile) { return Report(problems: [problem]) }
        let manifest: Manifest
        do {
            manifest = try Manifest.load(file: manifestFile)
        } catch {
            return Report(
                problems: (error as? ManifestError)?.problems.map { "\($0.field): \($0.message)" } ?? ["\(error)"])
        }
        let library = AddonLibrary.resolveLibrary(manifest, searchDirectories: [])
        let digest: String
        do {
            digest = try AddonLibrary.preflight(manifest: manifest, library: library, requirePin: true)
        } catch {
            return Report(manifest: manifest, problems: [(error as? AddonLoadError)?.reason ?? "\(error)"])
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "switchboard-check-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let run = ValidationRun(
            manifest: manifest, library: library, state: work.appendingPathComponent("state"),
            options: AddonValidator.Options(runner: runner), logger: logger)
        do {
            let session = try run.start()
            let ended = session.stop()
            guard ended == "exited with status 0" else {
                return Report(
                    manifest: manifest, problems: ["after create, destroying the instance: the runner \(ended)"])
            }
        } catch {
            return Report(manifest: manifest, problems: [error.description])
        }
        return Report(manifest: manifest, sha256: digest, problems: [])
    }
}
