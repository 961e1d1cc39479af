import ArgumentParser
import Foundation
import SwitchboardDaemon

/// Where the running daemon answers, for the commands that talk to it over HTTP (`addons status`,
/// `addons reload`).
///
/// The first of these wins:
/// 1. `--url`, or `--host`/`--port` (the other half from the configuration);
/// 2. `SWITCHBOARD_URL`;
/// 3. `<data_dir>/daemon.url`, which `serve` writes once it listens (the port it really bound,
///    also with `--port 0`) and removes when it stops;
/// 4. the configuration's `host` and `port` (file, `SWITCHBOARD_HOST`/`SWITCHBOARD_PORT`, default
///    127.0.0.1:8080).
struct DaemonOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The running daemon's base URL, e.g. http://127.0.0.1:9090.",
            discussion:
                "Default: SWITCHBOARD_URL, else the address the daemon recorded in <data dir>/daemon.url, else the configuration's host and port."
        ))
    var url: String?

    @Option(
        name: .long, help: "The running daemon's host (instead of --url; the port from --port or the configuration).")
    var host: String?

    @Option(
        name: .long, help: "The running daemon's port (instead of --url; the host from --host or the configuration).")
    var port: Int?

    func validate() throws {
        if url != nil, host != nil || port != nil {
            throw ValidationError("give either --url or --host/--port, not both")
        }
        if let port, !(1...65535).contains(port) {
            throw ValidationError("--port must be between 1 and 65535, got \(port)")
        }
        if let url {
            do {
                _ = try DaemonEndpoint(parsing: url, source: "--url")
            } catch {
                throw ValidationError(error.description)
            }
        }
    }

    /// The daemon's base URL and the place it came from, for messages.
    func endpoint(
        config: ServeConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> DaemonEndpoint {
        if let url { return try DaemonEndpoint(parsing: url, source: "--url") }
        if host != nil || port != nil {
            return DaemonEndpoint(
                host: host ?? config.host, port: port ?? config.port,
                source: host != nil && port != nil ? "--host and --port" : host != nil ? "--host" : "--port")
        }
        if let url = environment["SWITCHBOARD_URL"], !url.isEmpty {
            return try DaemonEndpoint(parsing: url, source: "SWITCHBOARD_URL")
        }
        let file = DaemonEndpoint.addressFile(dataDir: config.dataDir)
        if let recorded = try? String(contentsOf: file, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !recorded.isEmpty,
            let endpoint = try? DaemonEndpoint(
                parsing: recorded, source: "\(file.path), recorded by the daemon that runs on this data directory")
        {
            return endpoint
        }
        return DaemonEndpoint(
            host: config.host, port: config.port,
            source: "the configuration's host and port (no daemon.url in the data directory \(config.dataDir))")
    }
}

/// A running daemon's base URL (`http://127.0.0.1:9090`, no trailing slash) and where it came from.
struct DaemonEndpoint: Sendable, Equatable {
    var baseURL: String
    /// Where the URL came from (`--url`, `SWITCHBOARD_URL`, a file), for error messages.
    var source: String

    /// A URL as given in `--url`, `SWITCHBOARD_URL` or `daemon.url`: `http` or `https`, a host, an
    /// optional port and an optional path prefix (for a reverse proxy).
    ///
    /// - Throws: `DaemonClientError` naming `source` and showing the expected form.
    init(parsing text: String, source: String) throws(DaemonClientError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty,
            components.query == nil, components.fragment == nil
        else {
            throw DaemonClientError(
                description:
                    "\(source) must be an http:// or https:// URL such as http://127.0.0.1:9090, got \"\(text)\"")
        }
        var base = text
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.source = source
    }

    /// The daemon listening on `host:port`. A wildcard address (`0.0.0.0`, `::`) is reached on
    /// loopback; an IPv6 address is bracketed (RFC 3986 §3.2.2).
    init(host: String, port: Int, source: String) {
        let reachable: String
        switch host {
        case "", "0.0.0.0": reachable = "127.0.0.1"
        case "::", "[::]": reachable = "[::1]"
        default: reachable = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        }
        self.baseURL = "http://\(reachable):\(port)"
        self.source = source
    }

    /// `<data_dir>/daemon.url`: the base URL a running `serve` answers on, one line.
    static func addressFile(dataDir: String) -> URL {
        URL(fileURLWithPath: dataDir, isDirectory: true).appendingPathComponent("daemon.url")
    }
}
