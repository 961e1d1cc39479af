import ArgumentParser
import Foundation
import Logging
import NIOCore
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Synchronization

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: HTTP API, delivery pipeline and background jobs, until SIGTERM.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port to listen on (default 8080; 0 picks a free one).")
    var port: Int?

    @Option(
        name: .long,
        help: "Port of the SMPP server for customers' ESMEs (default: smpp_server.port, off when 0).")
    var smppPort: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let configuration: ServeConfiguration
        do {
            var resolved = try options.resolve(host: host, port: port)
            if let smppPort {
                guard (0...65535).contains(smppPort) else {
                    throw ValidationError("--smpp-port must be a port from 1 to 65535, or 0 for no SMPP server")
                }
                resolved.smppServer.port = smppPort
                // Checked again with the SMPP port in place: --port and --smpp-port may clash.
                try resolved.validate(source: "the command line")
            }
            configuration = resolved
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let level = logLevel
        LoggingSystem.bootstrap { label in LazyMetadataLogHandler(label: label, level: level) }
        let logger = Logger(label: "switchboard")
        let daemon: Daemon
        let lock: ServeLock
        do {
            // Before the database is opened: a second daemon on it stops here, not after migrating it.
            lock = try ServeLock(dataDir: configuration.dataDir)
            daemon = try Daemon(config: configuration, logger: logger)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        defer { withExtendedLifetime(lock) {} }
        logger.info(
            "starting",
            metadata: [
                "data_dir": "\(daemon.dataDirectory.path)",
                "operator_token":
                    "\(configuration.operatorToken == nil ? daemon.dataDirectory.appendingPathComponent("secrets/operator-token").path : "from configuration")",
            ])
        let addressFile = DaemonEndpoint.addressFile(dataDir: daemon.dataDirectory.path)
        let recorded = RecordedAddress()
        defer { Self.remove(addressFile, ifItHolds: recorded.url.withLock { $0 }) }
        do {
            try await run(
                daemon, configuration: configuration, addressFile: addressFile, recorded: recorded, logger: logger)
        } catch let error as SocketAddressError.UnknownHost {
            // The listening address's name did not resolve: say which setting holds it.
            throw ValidationError(
                "cannot listen on host \"\(error.host)\": \(error.errorDescription); set host (in the config file, SWITCHBOARD_HOST or --host) to an address of this machine such as 127.0.0.1, 0.0.0.0 or ::, or a name that resolves to one"
            )
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            // The SMPP listeners name themselves (SMPPServer.ListenFailure); this is the HTTP one.
            throw ValidationError(
                "cannot listen for HTTP on \(configuration.host):\(configuration.port): the address is in use; another process holds the port (`ss -ltnp` shows which): stop it, or choose another with --port"
            )
        }
        logger.info("stopped")
    }

    private func run(
        _ daemon: Daemon, configuration: ServeConfiguration, addressFile: URL, recorded: RecordedAddress, logger: Logger
    ) async throws {
        try await daemon.run { port in
            // `switchboard addons status` and `addons reload` find this daemon here, also when it was
            // started with --port or --port 0.
            let url = DaemonEndpoint(host: configuration.host, port: port, source: "serve").baseURL
            do {
                try Data((url + "\n").utf8).write(to: addressFile, options: .atomic)
                recorded.url.withLock { $0 = url }
            } catch {
                logger.warning(
                    "cannot record the listening address; operator commands need --url",
                    metadata: ["file": "\(addressFile.path)", "error": "\(error)"])
            }
        }
    }

    /// Removes `daemon.url` at exit, unless another daemon has since written its own address there.
    private static func remove(_ file: URL, ifItHolds url: String?) {
        guard let url,
            (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == url
        else { return }
        try? FileManager.default.removeItem(at: file)
    }
}

/// The URL `serve` wrote into `daemon.url`, set once it listens.
private final class RecordedAddress: Sendable {
    let url = Mutex<String?>(nil)
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
