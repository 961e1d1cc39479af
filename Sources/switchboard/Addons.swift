import ArgumentParser
import Foundation
import Host
import Logging

struct Addons: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect add-ons and apply declarative consent.",
        subcommands: [List.self, Apply.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the add-ons found, loaded or not, and why not.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let daemon = try Daemon(config: try options.resolve(), logger: quietLogger())
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
            for problem in daemon.addons.registry.problems {
                print("FAILED  \(problem.file)\n          \(problem.reason)")
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a consent file: enable, change or disable add-ons per account (see docs/addons.md).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The consent file (JSON).") var file: String

        func run() async throws {
            let daemon = try Daemon(config: try options.resolve(), logger: quietLogger())
            let changes: [ConsentFile.Change]
            do {
                changes = try await ConsentFile.apply(
                    file: file, accounts: daemon.accounts, addons: daemon.addons, actor: "cli:\(file)")
            } catch let error as ConfigurationError {
                throw ValidationError(error.description)
            }
            if changes.isEmpty { print("nothing to change: every account already has what the file says") }
            for change in changes {
                print("\(change.action)  \(change.accountID)  \(change.addonID)  receipt \(change.receiptID)")
            }
        }
    }
}

/// Commands other than `serve` log warnings only, so their output stays readable.
func quietLogger() -> Logger {
    var logger = Logger(label: "switchboard")
    logger.logLevel = .warning
    return logger
}
