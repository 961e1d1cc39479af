import Foundation
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon

/// `switchboard-bench [--quick]`: the micro-benchmarks, printed as a table. Run from a release build
/// (`scripts/bench`); the bundled add-on libraries are looked up beside this executable.
@main
struct SwitchboardBench {
    static func main() async throws {
        let quick = CommandLine.arguments.contains("--quick")
        let executable = URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "switchboard-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let figures = try await Microbenchmarks.run(
            directory: directory, scale: quick ? 100 : 1000, bundledLibraries: executable.deletingLastPathComponent())
        let width = figures.map(\.name.count).max() ?? 0
        print("| benchmark" + String(repeating: " ", count: width - 9) + " | value | unit |")
        print("|" + String(repeating: "-", count: width + 2) + "|------:|------|")
        for figure in figures {
            let value =
                figure.value >= 100 ? String(format: "%.0f", figure.value) : String(format: "%.2f", figure.value)
            print(
                "| \(figure.name)" + String(repeating: " ", count: width - figure.name.count)
                    + " | \(value) | \(figure.unit) |")
        }
    }
}
