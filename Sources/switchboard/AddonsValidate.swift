import ArgumentParser
import Foundation
import SwitchboardAddons

extension Addons {
    /// `switchboard addons validate MANIFEST [--json]`: the conformance validator (docs/addons.md,
    /// "Validate before you ship").
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an add-on in a runner, as the daemon would, through the conformance rules.",
            discussion: """
                Each rule passes, fails with its reason and the fix, or is skipped when it does not \
                apply. Exits 1 when any rule fails. The rules and their ids are listed in \
                docs/addons.md ("Validate before you ship").
                """)
        @Argument(help: "The add-on's manifest (JSON).") var manifest: String
        @Flag(help: "Print the report as JSON (one object: manifest, addon, version, passed, rules).") var json = false
        @Flag(
            name: .customLong("bundled"),
            help:
                "Validate an add-on bundled with the daemon: no pin needed, library also looked for beside the daemon."
        ) var bundled = false
        @Option(help: "The switchboard-addon-runner to use (default: the one beside this executable).")
        var runner: String?

        /// Why `path` cannot be the runner, or nil: missing, a directory (which is "executable" to
        /// `access(2)`, so the add-on's own rules would fail instead of the setup), or not executable.
        static func runnerProblem(_ path: String) -> String? {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                return
                    "no runner at \(path); install switchboard-addon-runner beside switchboard (scripts/install) or pass --runner"
            }
            if isDirectory.boolValue {
                return
                    "--runner \(path) is a directory; pass the runner executable itself, e.g. \(path)/switchboard-addon-runner"
            }
            guard FileManager.default.isExecutableFile(atPath: path) else {
                return "the runner \(path) is not executable; chmod +x it or pass another with --runner"
            }
            return nil
        }

        func run() async throws {
            var options = AddonValidator.Options(
                runner: runner
                    ?? BundledAddons.executableDirectory.appendingPathComponent(
                        "switchboard-addon-runner"
                    ).path)
            if bundled {
                options.requirePin = false
                options.libraryDirectories = [BundledAddons.executableDirectory]
            }
            if let problem = Self.runnerProblem(options.runner) {
                // A tool reading --json gets JSON for a setup problem too, with the usage error's status.
                guard json else { throw ValidationError(problem) }
                try Self.printJSON(["manifest": manifest, "passed": false, "rules": [], "error": problem])
                throw ExitCode.validationFailure
            }
            let report = AddonValidator.run(manifestFile: manifest, options: options, logger: quietLogger())
            if json {
                let encoder = JSONEncoder()
                var object = try JSONSerialization.jsonObject(with: encoder.encode(report)) as? [String: Any] ?? [:]
                object["passed"] = report.passed
                try Self.printJSON(object)
            } else {
                print("\(report.addon ?? manifest) \(report.version ?? "")".trimmingCharacters(in: .whitespaces))
                for rule in report.rules {
                    let mark =
                        switch rule.outcome {
                        case .passed: "pass"
                        case .failed: "FAIL"
                        case .skipped: "skip"
                        }
                    print("  \(mark)  \(rule.id): \(rule.title)")
                    print("        \(rule.detail)")
                }
                let failed = report.rules.filter { $0.outcome == .failed }.count
                print(
                    failed == 0
                        ? "passed: \(report.rules.count) rules" : "FAILED: \(failed) of \(report.rules.count) rules")
            }
            if !report.passed { throw ExitCode(1) }
        }

        private static func printJSON(_ object: [String: Any]) throws {
            let data = try JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
