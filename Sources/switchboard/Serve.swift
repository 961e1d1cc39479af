import ArgumentParser
import Foundation
import Logging
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: HTTP API, delivery pipeline and background jobs, until SIGTERM.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port to listen on (default 8080; 0 picks a free one).")
    var port: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let configuration: ServeConfiguration
        do {
            configuration = try options.resolve(host: host, port: port)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let level = logLevel
        LoggingSystem.bootstrap { label in LazyMetadataLogHandler(label: label, level: level) }
        let logger = Logger(label: "switchboard")
        let daemon: Daemon
        do {
            daemon = try Daemon(config: configuration, logger: logger)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        logger.info(
            "starting",
            metadata: [
                "data_dir": "\(daemon.dataDirectory.path)",
                "operator_token":
                    "\(configuration.operatorToken == nil ? daemon.dataDirectory.appendingPathComponent("secrets/operator-token").path : "from configuration")",
            ])
        try await daemon.run()
        logger.info("stopped")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
