import ArgumentParser
import Foundation
import SwitchboardDaemon

/// `switchboard connectors`: the carrier connectors of the running daemon.
struct Connectors: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Carrier connectors (SMPP binds to SMSCs) of the running daemon.",
        subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each connector's bind state, window use, throughput and errors; exits 1 when one is not bound.")
        @OptionGroup var options: ConfigOptions
        @OptionGroup var daemon: DaemonOptions

        func run() async throws {
            let config = try options.resolve(loadAddons: false)
            let json = try await DaemonClient(config: config, endpoint: try daemon.endpoint(config: config))
                .call(.GET, "/v1/admin/connectors")
            let connectors = json["data"] as? [[String: Any]] ?? []
            if connectors.isEmpty {
                print("no carrier connectors: messages go to the built-in simulator (configure smpp_connectors)")
                return
            }
            var down: [String] = []
            for connector in connectors {
                let name = "\(connector["name"] ?? "?")"
                let prefixes = (connector["prefixes"] as? [String]).map {
                    $0.isEmpty ? "all" : $0.joined(separator: ",")
                }
                print(
                    "\(name)  \(connector["address"] ?? "?")  \(connector["bind_mode"] ?? "")  \(connector["state"] ?? "?")  prefixes \(prefixes ?? "all")"
                )
                print(
                    "    window \(connector["window_in_use"] ?? 0)/\(connector["window"] ?? 0), \(connector["throughput"] ?? 0)/s; submitted \(connector["submitted"] ?? 0), accepted \(connector["accepted"] ?? 0), rejected \(connector["rejected"] ?? 0), throttled \(connector["throttled"] ?? 0), timeouts \(connector["timeouts"] ?? 0); receipts \(connector["receipts"] ?? 0), inbound \(connector["inbound"] ?? 0)"
                )
                if let error = connector["last_error"] { print("    last error: \(error)") }
                if connector["state"] as? String != "bound" { down.append(name) }
            }
            if !down.isEmpty { throw ConnectorsNotBound(names: down) }
        }
    }
}

/// Makes `connectors status` exit non-zero, for monitoring scripts, when a connector is not bound.
struct ConnectorsNotBound: Error, CustomStringConvertible {
    var names: [String]
    var description: String {
        "not bound: \(names.joined(separator: ", ")); see each one's last error above, and the daemon's log"
    }
}
