import ArgumentParser
import Foundation
import GRDB
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer which customer data went to which add-on, from the ledger.",
        subcommands: [Query.self, Verify.self, Key.self, RotateKey.self, Checkpoints.self, Export.self])

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List ledger rows (every view delivered to an add-on).")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Add-on id (or its last component, e.g. reporting).") var addon: String?
        @Option(help: "Account id.") var account: String?
        @Option(help: "Field id, e.g. usage.to.") var field: String?
        @Option(help: "Category: content, account or usage.") var category: String?
        @Option(help: "Only rows at or after this RFC 3339 time.") var since: String?
        @Option(help: "Only rows before this RFC 3339 time.") var until: String?
        @Option(help: "json, csv, ndjson or table.") var format: String = "table"
        // Unconditional, so that `--limit -5` is read as a number and refused as one, not as a
        // missing value followed by an option -5.
        @Option(parsing: .unconditional, help: "At most this many rows.") var limit: Int = 10_000
        @Flag(help: "Counts per add-on × category × day instead of rows.") var summary = false

        func run() async throws {
            var query = Ledger.Query()
            let reader = try AuditReader(config: try options.resolve(loadAddons: false), logger: quietLogger())
            if let addon {
                guard let id = try reader.auditedAddonID(addon) else {
                    let known = try reader.auditableAddonIDs()
                    FileHandle.standardError.write(
                        Data(
                            "error: --addon \(addon) is neither loaded nor in the ledger; known add-ons: \(known.joined(separator: ", "))\n"
                                .utf8))
                    throw ExitCode(2)
                }
                query.addonID = id
            }
            if let account {
                guard try reader.auditedAccountIsKnown(account) else {
                    FileHandle.standardError.write(
                        Data(
                            "error: --account \(account) is neither an account nor in the ledger; `switchboard accounts list` lists them\n"
                                .utf8))
                    throw ExitCode(2)
                }
            }
            query.accountID = account
            if let field, FieldCatalog.byID[field] == nil {
                throw ValidationError("--field must be a field id such as usage.to (docs/addons.md lists them)")
            }
            query.field = field
            if let category {
                guard let parsed = DataCategory(rawValue: category) else {
                    throw ValidationError("--category must be content, account or usage")
                }
                query.category = parsed
            }
            query.since = try since.map { try Self.time($0, "--since") }
            query.until = try until.map { try Self.time($0, "--until") }
            if let problem = query.rangeProblem { throw ValidationError("--\(problem.field) \(problem.message)") }
            guard limit >= 1 else { throw ValidationError("--limit must be at least 1 (got \(limit))") }
            query.limit = limit
            guard ["json", "csv", "ndjson", "table"].contains(format) else {
                throw ValidationError("--format must be json, csv, ndjson or table")
            }
            if summary {
                let counts = try reader.shareSummary(query)
                print(AuditFormatter.render(summary: counts, format: format), terminator: "")
                return
            }
            let entries = try reader.ledgerEntries(query)
            print(AuditFormatter.render(entries, format: format), terminator: "")
        }

        /// `text` as ms since 1970, read as `GET /v1/admin/audit` reads `since` and `until`: an RFC 3339
        /// time that exists (no 2026-02-30, no hour 25), with its offset.
        static func time(_ text: String, _ flag: String) throws -> Int64 {
            guard let millis = Timestamp.parseMillis(text) else { throw ValidationError("\(flag) \(Timestamp.hint)") }
            return millis
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the ledger's hash chain and check its signed checkpoints; exit 1 at the first bad row."
        )
        @OptionGroup var options: ConfigOptions
        @Option(help: "A directory of exported checkpoints to check the ledger against (catches a truncated tail).")
        var checkpoints: String?

        func run() async throws {
            // Read-only: verifying must work on a copy of a data directory nobody may write to.
            let reader = try AuditReader(config: try options.resolve(loadAddons: false), logger: quietLogger())
            let outcome = try reader.verifyLedger(checkpointDirectory: checkpoints)
            if let failure = outcome.failure {
                print("ledger BROKEN at sequence \(failure.seq): \(failure.reason)")
                throw ExitCode(1)
            }
            let keys = outcome.signingKeys
            // No checkpoint of any kind, stored or exported (compaction anchors sign too).
            guard outcome.signingKeys > 0 else {
                // "0 signing keys" read as if the key were missing; it only has not signed yet.
                print(
                    "ledger intact: \(outcome.rows) rows verified, no signed checkpoint yet (the daemon signs one every ledger.checkpoint_interval_seconds after rows are added, and at shutdown)"
                )
                return
            }
            print(
                "ledger intact: \(outcome.rows) rows verified, \(outcome.checkpoints) signed checkpoints matched, \(keys) signing key\(keys == 1 ? "" : "s") (\(keys - outcome.retiredSigningKeys) current, \(outcome.retiredSigningKeys) retired)"
            )
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Replace the key that signs ledger checkpoints; checkpoints of the old key stay verifiable.",
            discussion: """
                Stop the daemon first. The old public key is added to secrets/ledger-public-keys, which \
                `audit verify` trusts; the old private key is deleted; the new key signs a checkpoint \
                of the current tail. Refuses, changing nothing, when the ledger does not verify.
                """)
        @OptionGroup var options: ConfigOptions
        @Flag(
            help:
                "The old private key is lost: trust the public keys recorded in the stored checkpoints instead (automatic when secrets/ledger-ed25519.key is missing or empty)."
        )
        var keyLost = false

        func run() async throws {
            let rotation = try await LedgerKeyRotation.rotate(
                config: try options.resolve(loadAddons: false), keyLost: keyLost)
            if rotation.keyLost {
                print(
                    "the old private key is lost: trusting the \(rotation.retired.count) public key(s) found in stored checkpoints; compare them with the key you recorded with `switchboard audit key`"
                )
            }
            for key in rotation.retired { print("old key  \(key.publicKey)  \(key.note)") }
            print("new key  \(rotation.newPublicKey)  (record it off the host)")
            if let checkpoint = rotation.checkpoint {
                print("signed a \(checkpoint.kind.rawValue) checkpoint at sequence \(checkpoint.seq) with the new key")
            } else {
                print("the ledger is empty: the new key signs its first checkpoint when rows are added")
            }
            print("trusted retired keys are in \(rotation.publicKeysFile); back it up with the rest of secrets/")
            print("restart the daemon if it is running: until then it keeps signing with the key it started with")
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print the data-subject access report of an account: what the platform holds and which add-ons received what."
        )
        @OptionGroup var options: ConfigOptions
        @Option(help: "The account id.") var account: String

        func run() async throws {
            let reader = try AuditReader(config: try options.resolve(loadAddons: false), logger: quietLogger())
            // Not found exits 2, as `audit query` does for an unknown account; 64 is for bad usage.
            guard let report = try reader.accessReport(accountID: account) else {
                FileHandle.standardError.write(
                    Data(
                        "error: --account \(account) is not an account; `switchboard accounts list` lists them\n".utf8))
                throw ExitCode(2)
            }
            print(report)
        }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the public key that signs ledger checkpoints (Ed25519, base64).")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.resolve(loadAddons: false)
            if let key = (try? AuditReader(config: config, logger: quietLogger()).ledgerPublicKey()) ?? nil {
                print(key)
                return
            }
            // No key yet beside an empty ledger: opening the data directory generates it, as `serve`
            // would. A key needed but missing stops this exactly as it stops `serve`.
            print(try Daemon(config: config, logger: quietLogger()).ledger.publicKey)
        }
    }

    struct Checkpoints: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a signed checkpoint now and export every checkpoint as files, to keep off the host.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "Directory to write checkpoint-<seq>-<kind>.json files into.") var directory: String

        func run() async throws {
            let daemon = try Daemon(config: try options.resolve(loadAddons: false), logger: quietLogger())
            try await daemon.ledger.checkpoint()
            let all = try await daemon.checkpoints()
            try LedgerMaintenance.write(all, to: directory)
            print("exported \(all.count) checkpoints to \(directory)")
        }
    }
}
