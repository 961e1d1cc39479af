import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon

struct Addons: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect add-ons and apply declarative consent.",
        subcommands: [List.self, Status.self, Reload.self, Apply.self, Check.self, Validate.self, New.self, SDK.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the add-ons found, loaded or not, and why not.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.resolve()
            let daemon = try Daemon(config: config, logger: quietLogger())
            if daemon.addons.registry.manifests.isEmpty, daemon.addons.registry.problems.isEmpty {
                // Printing nothing at all looked like a host without add-ons, when the usual cause
                // is a binary copied away from the bundled ones (`serve` logs the same warning).
                let bundledMissing = config.addons.bundledDirectory == nil && BundledAddons.manifestDirectory() == nil
                let why =
                    bundledMissing
                    ? "no bundled add-ons found (looked in \(BundledAddons.searchedPlaces)); set addons.bundled_dir in the config to the directory of their manifests"
                    : "no add-on manifests in the directories configured (addons.bundled_dir, addons.dirs)"
                FileHandle.standardError.write(Data("no add-ons found: \(why)\n".utf8))
            }
            for manifest in daemon.addons.registry.manifests {
                print(
                    "loaded  \(manifest.id) \(manifest.version)  \(manifest.name) (\(manifest.vendor))  hooks: \(manifest.hooks.map(\.rawValue).joined(separator: ","))"
                )
                for field in manifest.fields {
                    let flags = [field.required ? "required" : "optional", field.pseudonym ? "pseudonym" : "clear"]
                        .joined(separator: ", ")
                    print("          \(field.id) [\(flags)]: \(field.purpose)")
                }
            }
            let problems = daemon.addons.registry.problems
            for problem in problems {
                print("FAILED  \(problem.file)\n          \(problem.reason)")
            }
            if !problems.isEmpty {
                throw AddonsNotWorking(problems.map { ($0.file, $0.reason) })
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a consent file: enable, change or disable add-ons per account (see docs/addons.md).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The consent file (JSON).") var file: String

        func run() async throws {
            let daemon = try Daemon(config: try options.resolve(loadAddons: false), logger: quietLogger())
            let changes: [ConsentFile.Change]
            do {
                changes = try await ConsentFile.apply(
                    file: file, accounts: daemon.accounts, addons: daemon.addons, actor: "cli:\(file)")
            } catch let error as ConfigurationError {
                // The file's content is wrong, not the command line: no usage text after the problems.
                FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
                throw ExitCode(64)
            }
            if changes.isEmpty { print("nothing to change: every account already has what the file says") }
            for change in changes {
                print("\(change.action)  \(change.accountID)  \(change.addonID)  receipt \(change.receiptID)")
            }
        }
    }
}

extension Addons {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check a partner add-on: validate its manifest, verify the pin, load it and create an instance in a runner."
        )
        @Argument(help: "The add-on's manifest (JSON).") var manifest: String

        func run() async throws {
            let runner = BundledAddons.executableDirectory.appendingPathComponent("switchboard-addon-runner").path
            guard FileManager.default.isExecutableFile(atPath: runner) else {
                throw ValidationError(
                    "no runner at \(runner); install switchboard-addon-runner beside switchboard (scripts/install)")
            }
            let report = AddonCheck.run(manifestFile: manifest, runner: runner, logger: quietLogger())
            if report.ok, let loaded = report.manifest {
                print(
                    "ok: \(loaded.id) \(loaded.version) loads with ABI \(loaded.abiMajor).\(loaded.abiMinor); library sha256 \(report.sha256 ?? "?")"
                )
                for field in loaded.fields {
                    print(
                        "  \(field.id) (\(field.required ? "required" : "optional")\(field.pseudonym ? ", pseudonym" : "")): \(field.purpose)"
                    )
                }
                return
            }
            // On standard error, as every other command's failure: a script reading stdout gets the
            // `ok:` report or nothing.
            var lines = ["\(manifest) cannot be loaded:"]
            lines += report.problems.map { "  - \($0)" }
            FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            throw ExitCode(1)
        }
    }

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new add-on project in C or Swift (source, manifest, Makefile) to start from.",
            discussion: """
                The project needs nothing from the source tree: a C project gets the header beside \
                addon.c, a Swift project the whole SDK in sdk/ (as `addons sdk` writes it).
                """)
        @Option(help: "Reverse-DNS id, e.g. com.example.delivery-counter.") var id: String
        @Option(help: "Human-readable name.") var name: String = "My Add-on"
        @Option(help: "Your company.") var vendor: String = "Example Vendor"
        @Option(help: "The add-on's language: c or swift.") var lang: AddonLanguage = .c
        @Argument(help: "Directory to create.") var directory: String

        func validate() throws {
            guard !directory.isEmpty else { throw ValidationError("DIRECTORY must name the directory to create") }
        }

        func run() async throws {
            do {
                let created = try AddonScaffold.create(
                    id: id, name: name, vendor: vendor, language: lang, sdk: try AddonSDK.locate(),
                    in: URL(fileURLWithPath: directory))
                for file in created.files { print("created \(file)") }
                if let sdk = created.sdkDirectory { print("created \(sdk)/ (the add-on SDK: PluginAPI and AddonKit)") }
                print("next: cd \(directory)")
                print("  make           # builds \(created.library)")
                print("  make pin       # writes its SHA-256 into \(created.manifest)")
                print("  make load      # switchboard addons check: loads it as the daemon would")
                print("  make check     # switchboard addons validate: runs it through the conformance rules")
                print("switchboard must be on PATH, or pass make SWITCHBOARD=/path/to/switchboard")
            } catch let error as ConfigurationError {
                throw ValidationError(error.description)
            } catch let error as AddonSDKError {
                throw ValidationError(error.description)
            }
        }
    }

    struct SDK: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sdk",
            abstract: "Write the add-on SDK into a directory: the C header, and AddonKit as a Swift package.",
            discussion: """
                DIR/switchboard_addon.h is the header for C (cc -IDIR). DIR/Package.swift is the Swift \
                package SwitchboardAddonSDK, with the products AddonKit and PluginAPI; depend on it with \
                .package(path: "DIR"). DIR/exports.map is the version script that keeps every symbol but \
                switchboard_addon_entry inside the library.
                """)
        @Flag(help: "Replace files that differ from the SDK's.") var force = false
        @Argument(help: "Directory to write (created if missing).") var directory: String

        func validate() throws {
            guard !directory.isEmpty else { throw ValidationError("DIRECTORY must name the directory to write") }
        }

        func run() async throws {
            do {
                let written = try AddonSDK.locate().write(to: URL(fileURLWithPath: directory), force: force)
                for file in written { print("wrote \(file)") }
                if written.isEmpty { print("\(directory) already holds this SDK; nothing to write") }
            } catch let error as AddonSDKError {
                throw ValidationError(error.description)
            }
        }
    }
}

extension AddonLanguage: ExpressibleByArgument {}

/// Commands other than `serve` log warnings only, so their output stays readable.
func quietLogger() -> Logger {
    var logger = Logger(label: "switchboard")
    logger.logLevel = .warning
    return logger
}

extension Addons {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the running daemon how each add-on is doing: running, restarting or quarantined, and why.")
        @OptionGroup var options: ConfigOptions
        @OptionGroup var daemon: DaemonOptions

        func run() async throws {
            let config = try options.resolve(loadAddons: false)
            let json = try await DaemonClient(config: config, endpoint: try daemon.endpoint(config: config))
                .call(.GET, "/v1/admin/addons")
            var quarantined: [String] = []
            for addon in json["loaded"] as? [[String: Any]] ?? [] {
                let runtime = addon["runtime"] as? [String: Any] ?? [:]
                var line =
                    "\(addon["id"] ?? "?") \(addon["version"] ?? "")  \(addon["isolation"] ?? "")  \(runtime["state"] ?? "?")"
                line +=
                    "  restarts \(runtime["restarts"] ?? 0), crashes \(runtime["crashes"] ?? 0), timeouts \(runtime["timeouts"] ?? 0), waiting \(runtime["outbox_depth"] ?? 0)"
                if let until = runtime["quarantined_until"] { line += ", quarantined until \(until)" }
                print(line)
                if let failure = runtime["last_failure"] { print("    last failure: \(failure)") }
                if runtime["state"] as? String == "quarantined" { quarantined.append("\(addon["id"] ?? "?")") }
            }
            let failed = (json["failed"] as? [[String: Any]] ?? []).map {
                ("\($0["file"] ?? "?")", "\($0["reason"] ?? "")")
            }
            for (file, reason) in failed { print("FAILED  \(file)\n    \(reason)") }
            if !failed.isEmpty || !quarantined.isEmpty { throw AddonsNotWorking(failed, quarantined: quarantined) }
        }
    }
}

extension Addons {
    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a new version of an add-on into the running daemon, without dropping or repeating events.",
            discussion: """
                Re-reads the add-on's manifest and the library it names, starts the new version and \
                retires the old one once it has finished the work it holds. When the new version \
                cannot be loaded, the running one stays and the reason is printed. An in-process \
                add-on's new build needs a new file name (dlopen keeps the first copy of a path). \
                `kill -HUP` on the daemon reloads every add-on whose files changed.
                """)
        @OptionGroup var options: ConfigOptions
        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The add-on's id or short id, as `switchboard addons list` shows it.") var id: String

        func run() async throws {
            let config = try options.resolve(loadAddons: false)
            let path = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? id
            let json = try await DaemonClient(config: config, endpoint: try daemon.endpoint(config: config)).call(
                .POST, "/v1/admin/addons/\(path)/reload", timeout: .seconds(30))
            print(
                "\(json["id"] ?? id): \(json["from_version"] ?? "?") -> \(json["to_version"] ?? "?") (\(json["isolation"] ?? "?"))"
            )
        }
    }
}

/// Add-ons that are not working: manifests the daemon refused (file and reason) and add-ons
/// quarantined after repeated failures. `addons list` and `addons status` print everything first,
/// then exit 1 with this.
struct AddonsNotWorking: Error, CustomStringConvertible {
    var refused: [(file: String, reason: String)]
    var quarantined: [String] = []

    init(_ refused: [(file: String, reason: String)], quarantined: [String] = []) {
        self.refused = refused
        self.quarantined = quarantined
    }

    var description: String {
        var lines: [String] = []
        if !refused.isEmpty {
            lines.append(
                "\(refused.count) add-on manifest\(refused.count == 1 ? " was" : "s were") refused; fix \(refused.count == 1 ? "it" : "them") and check with `switchboard addons check FILE`:"
            )
            lines += refused.map { "  \($0.file): \($0.reason)" }
        }
        if !quarantined.isEmpty {
            lines.append(
                "quarantined after repeated failures (see `last failure` above): \(quarantined.joined(separator: ", "))"
            )
        }
        return lines.joined(separator: "\n")
    }
}
