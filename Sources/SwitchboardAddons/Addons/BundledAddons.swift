import Foundation
import SwitchboardCore

/// Where the add-ons built with the daemon are: the `Manifests/` folder of the source tree and the
/// build directory that holds the daemon itself (SwiftPM puts `lib<Name>.so` beside executables).
package enum BundledAddons {
    package static var executableDirectory: URL {
        let path =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).deletingLastPathComponent()
    }

    package static func manifestDirectory() -> String? {
        var candidates = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Manifests")
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
