import ArgumentParser
import Foundation
import Logging
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon

struct Accounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage customer accounts directly in the data directory (also while the daemon runs).",
        subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account and print its id and first API key.")

        @OptionGroup var options: ConfigOptions
        @Option(help: "Display name.") var name: String
        @Option(help: "Email address.") var email: String
        @Option(help: "Company (optional).") var company: String?
        @Flag(help: "Read the password from standard input instead of prompting SWITCHBOARD_PASSWORD.")
        var passwordStdin = false

        func run() async throws {
            let password: String
            if passwordStdin {
                password = readLine(strippingNewline: true) ?? ""
            } else if let fromEnvironment = ProcessInfo.processInfo.environment["SWITCHBOARD_PASSWORD"] {
                password = fromEnvironment
            } else {
                throw ValidationError(
                    "give the password on standard input with --password-stdin, or in SWITCHBOARD_PASSWORD")
            }
            // The rules of POST /v1/accounts, all named at once, before anything is created.
            let config = try options.resolve(loadAddons: false)
            let fieldProblems = AccountStore.accountFieldProblems(name: name, email: email, company: company)
            let emailReported = fieldProblems.contains { $0.field == "email" }
            let problems =
                fieldProblems
                + AccountStore.signUpProblems(
                    email: emailReported ? nil : email, password: password, name: name, policy: PasswordPolicy())
            if !problems.isEmpty {
                throw ValidationError(problems.map { "--\($0.field) \($0.message)" }.joined(separator: "; "))
            }
            let daemon = try Daemon(config: config, logger: Logger(label: "switchboard"))
            do {
                let created = try await daemon.accounts.create(
                    .init(name: name, email: email, company: company, password: password))
                print("account_id: \(created.account.id)")
                print("api_key:    \(created.apiKey)   (shown once; store it now)")
            } catch AccountStore.Failure.emailTaken {
                throw ValidationError("email \(email) is already registered")
            }
        }
    }

    struct List: AsyncParsableCommand {
        /// `text` on one line: a customer's name may hold line breaks (the API keeps tab, LF and
        /// CR), which printed as they are would forge lines of this listing. Control characters,
        /// line and paragraph separators are written as `\u{…}` escapes.
        static func oneLine(_ text: String) -> String {
            var line = ""
            for scalar in text.unicodeScalars {
                let value = scalar.value
                if value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029 {
                    line += "\\u{\(String(value, radix: 16, uppercase: true))}"
                } else {
                    line.unicodeScalars.append(scalar)
                }
            }
            return line
        }

        static let configuration = CommandConfiguration(abstract: "List accounts.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.resolve(loadAddons: false)
            // A listing of a directory without a database would print nothing and create one.
            try DataDirectory.requireDatabase(dataDir: config.dataDir)
            let daemon = try Daemon(config: config, logger: Logger(label: "switchboard"))
            for account in try await daemon.accounts.list(limit: 10_000) {
                var hold = account.legalHoldReason.map { "  legal hold: \(Self.oneLine($0))" } ?? ""
                if account.isActive, account.erasureRequestedAt != nil {
                    hold += "  deletion requested, carried out when the hold is lifted"
                }
                let email = account.email.map(Self.oneLine) ?? "-"
                let name = account.name.map(Self.oneLine) ?? "-"
                print("\(account.id)  \(account.status.rawValue)  \(email)  \(name)\(hold)")
            }
        }
    }
}
