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
        let options = AddonValidator.Options(runner: runner)
        let manifest: Manifest
        let library: URL
        let digest: String
        switch AddonValidator.prepare(manifestFile: manifestFile, options: options) {
        case .unreadableManifest(let problems):
            return Report(problems: problems)
        case .unusableLibrary(let read, let reason):
            return Report(manifest: read, problems: [reason])
        case .ready(let read, let found, let sha256):
            (manifest, library, digest) = (read, found, sha256)
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "switchboard-check-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let run = ValidationRun(
            manifest: manifest, library: library, state: work.appendingPathComponent("state"),
            options: options, logger: logger)
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
