import ArgumentParser
import Foundation
import GRDB
import Host

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer which customer data went to which add-on, from the ledger.",
        subcommands: [Query.self, Verify.self])

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
        @Option(help: "At most this many rows.") var limit: Int = 10_000

        func run() async throws {
            var query = Ledger.Query()
            let config = try options.resolve()
            let daemon = try Daemon(config: config, logger: quietLogger())
            query.addonID = addon.map { daemon.addons.registry.manifest($0)?.id ?? $0 }
            query.accountID = account
            query.field = field
            if let category {
                guard let parsed = DataCategory(rawValue: category) else {
                    throw ValidationError("--category must be content, account or usage")
                }
                query.category = parsed
            }
            query.since = try since.map { try Self.time($0, "--since") }
            query.until = try until.map { try Self.time($0, "--until") }
            query.limit = limit
            guard ["json", "csv", "ndjson", "table"].contains(format) else {
                throw ValidationError("--format must be json, csv, ndjson or table")
            }
            let entries = try await daemon.ledgerEntries(query)
            print(AuditFormatter.render(entries, format: format), terminator: "")
        }

        static func time(_ text: String, _ flag: String) throws -> Int64 {
            guard let date = try? Date.ISO8601FormatStyle().parse(text) else {
                throw ValidationError("\(flag) must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z")
            }
            return Int64(date.timeIntervalSince1970 * 1000)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the ledger's hash chain; exit 1 at the first bad row.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let daemon = try Daemon(config: try options.resolve(), logger: quietLogger())
            switch try await daemon.verifyLedger() {
            case .success(let count):
                print("ledger intact: \(count) rows verified")
            case .failure(let failure):
                print("ledger BROKEN at sequence \(failure.seq): \(failure.reason)")
                throw ExitCode(1)
            }
        }
    }
}
