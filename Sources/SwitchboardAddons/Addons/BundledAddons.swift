import Foundation
import SwitchboardCore

/// Where the add-ons built with the daemon are: in the source tree, its `Manifests/` folder and the
/// build directory that holds the daemon itself (SwiftPM puts `lib<Name>.so` beside executables);
/// installed (`scripts/install`), `PREFIX/lib/switchboard/addons`, manifests and libraries together,
/// for the daemon in `PREFIX/bin`.
package enum BundledAddons {
    /// The installed add-ons, relative to the directory of the `switchboard` executable.
    package static let installedPath = "../lib/switchboard/addons"

    package static var executableDirectory: URL {
        let path =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).deletingLastPathComponent()
    }

    /// Where `manifestDirectory()` looks, in words, for the warning when it finds nothing.
    package static let searchedPlaces =
        "./Manifests, ../lib/switchboard/addons beside the executable, and the source tree the executable was built in"

    /// The first of `./Manifests`, the installed directory beside the executable and the source
    /// tree's `Manifests/` above it that holds `schema.json`; nil when none does (a binary copied
    /// elsewhere, which then needs `addons.bundled_dir`).
    package static func manifestDirectory() -> String? {
        var candidates = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Manifests"),
            executableDirectory.appendingPathComponent(installedPath).standardizedFileURL,
        ]
        // From .build/<triple>/<configuration>/ back to the package root.
        var directory = executableDirectory
        for _ in 0..<4 {
            directory = directory.deletingLastPathComponent()
            candidates.append(directory.appendingPathComponent("Manifests"))
        }
        return candidates.first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("schema.json").path)
        }?.path
    }

    package static func libraryDirectories() -> [String] {
        [executableDirectory.path]
    }
}
