import ArgumentParser
import Foundation
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon

/// The options every command shares to find the same configuration and data as `serve`.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "JSON configuration file (see docs/operators.md).")
    var config: String?

    @Option(name: .long, help: "Directory for the database and generated secrets (default ./data).")
    var dataDir: String?

    @Option(name: .customLong("addons-dir"), help: "A directory of partner add-on manifests (repeatable).")
    var addonsDirs: [String] = []

    /// File, then SWITCHBOARD_* variables, then flags: the later wins.
    func resolve(host: String? = nil, port: Int? = nil, loadAddons: Bool = true) throws -> ServeConfiguration {
        var configuration = try config.map(ServeConfiguration.load(file:)) ?? ServeConfiguration()
        try configuration.applyEnvironment(ProcessInfo.processInfo.environment)
        if let dataDir { configuration.dataDir = dataDir }
        configuration.addons.directories += addonsDirs
        configuration.addons.loadLibraries = loadAddons
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        try configuration.validate(source: "the command line")
        return configuration
    }
}
