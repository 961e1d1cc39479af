import ArgumentParser
import Foundation

@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "The Switchboard messaging daemon and its operator tools.",
        subcommands: [Serve.self, Accounts.self, Addons.self, Audit.self, Connectors.self],
        defaultSubcommand: Serve.self)

    /// ArgumentParser's `main`, with a mistyped command or an option given twice named before
    /// parsing (exit 64, a usage error).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let problem = CommandWords.problem(arguments, root: Self.self) ?? CommandWords.repeatedOption(arguments) {
            FileHandle.standardError.write(Data("Error: \(problem)\n".utf8))
            Self.exit(withError: ExitCode(64))
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            Self.exit(withError: error)
        }
    }
}
