import Foundation
import Logging
import SwitchboardCore

/// What a partner's add-on looks like to the host: the manifest checked, the library pinned,
/// loaded and instantiated exactly as the daemon would, without any customer data.
public enum AddonCheck {
    public struct Report: Sendable {
        public var manifest: Manifest?
        public var sha256: String?
        public var problems: [String]
        public var ok: Bool { problems.isEmpty }
    }

    public static func run(manifestFile: String, logger: Logger) -> Report {
        let manifest: Manifest
        do {
            manifest = try Manifest.load(file: manifestFile)
        } catch let error as ManifestError {
            return Report(problems: error.problems.map { "\($0.field): \($0.message)" })
        } catch {
            return Report(problems: ["\(error)"])
        }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent(
            "switchboard-check-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        do {
            let library = try AddonLibrary.load(
                manifest: manifest, library: AddonLibrary.resolveLibrary(manifest, searchDirectories: []),
                requirePin: true,
                stateDirectory: state, config: manifest.config, logger: logger, clock: SystemWallClock(),
                onEmit: { _ in true })
            return Report(manifest: manifest, sha256: library.sha256, problems: [])
        } catch let error as AddonLoadError {
            return Report(manifest: manifest, problems: [error.reason])
        } catch {
            return Report(manifest: manifest, problems: ["\(error)"])
        }
    }
}
