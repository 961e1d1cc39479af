import ArgumentParser

@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "The Switchboard messaging daemon and its operator tools.",
        subcommands: [Serve.self, Accounts.self, Addons.self, Audit.self, Connectors.self],
        defaultSubcommand: Serve.self)
}
