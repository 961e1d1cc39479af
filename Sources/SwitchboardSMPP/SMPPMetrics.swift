import Prometheus
import Synchronization

/// The SMPP series on `/metrics`, labelled by connector name (an operator's name, never a
/// customer's identifier):
/// - `switchboard_smpp_submits_total{connector,result="accepted|rejected|throttled|timeout|unavailable"}`
/// - `switchboard_smpp_receipts_total{connector}`, `switchboard_smpp_inbound_total{connector}`
/// - `switchboard_smpp_bound{connector}` (1 while bound), `switchboard_smpp_window_in_use{connector}`
/// - `switchboard_smpp_server_window_full_total`: times a customer's bind had `submit_window`
///   requests being answered and was not read until one was
/// - `switchboard_smpp_server_connections` (open now), `switchboard_smpp_server_connections_limit`,
///   `switchboard_smpp_server_connections_refused_total` (closed at once: the limit was reached),
///   `switchboard_smpp_server_bind_timeouts_total` (closed unbound after `session_init_seconds`)
/// - `switchboard_smpp_server_deliveries_total{result="acknowledged|refused|deferred"}`: `deliver_sm`
///   to customers' receivers, by answer (`refused`: a permanent code, not offered again;
///   `deferred`: a transient code, a timeout or a lost connection, offered again after a back-off)
public final class SMPPMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Shows the server's series at zero before anything happened, so that a dashboard or an alert
    /// finds them from the start.
    func serverStarted(connectionLimit: Int) {
        serverGauge("smpp_server_connections_limit", "SMPP server connections allowed at once")
            .set(Double(connectionLimit))
        serverConnections(0)
        for (name, help) in Self.serverCounters { counter(name, help, []).increment(by: Int64(0)) }
        for result in ["acknowledged", "refused", "deferred"] { serverDeliveries(result, 0) }
    }

    /// Counts `count` `deliver_sm` answered `result` (acknowledged, refused, deferred).
    func serverDeliveries(_ result: String, _ count: Int) {
        counter(
            "smpp_server_deliveries", "deliver_sm to customers' receiver binds, by answer", [("result", result)]
        ).increment(by: Int64(count))
    }

    private static let serverCounters = [
        ("smpp_server_window_full", "Times a customer bind filled its submit_window and reading paused"),
        ("smpp_server_connections_refused", "SMPP server connections closed at once because the limit was reached"),
        (
            "smpp_server_bind_timeouts",
            "SMPP server connections closed because no bind came within session_init_seconds"
        ),
    ]

    private func serverGauge(_ name: String, _ help: String) -> Gauge {
        registry.makeGauge(
            descriptor: .init(namespace: "switchboard", metricName: name, unitName: "", helpText: help), labels: [])
    }

    func serverConnections(_ open: Int) {
        serverGauge("smpp_server_connections", "SMPP server connections open now").set(Double(open))
    }

    func serverConnectionRefused() {
        counter(Self.serverCounters[1].0, Self.serverCounters[1].1, []).increment()
    }

    func serverBindTimeout() {
        counter(Self.serverCounters[2].0, Self.serverCounters[2].1, []).increment()
    }

    private func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(
            descriptor: .init(namespace: "switchboard", metricName: name, unitName: "total", helpText: help),
            labels: labels)
    }

    private func gauge(_ name: String, _ help: String, connector: String) -> Gauge {
        registry.makeGauge(
            descriptor: .init(namespace: "switchboard", metricName: name, unitName: "", helpText: help),
            labels: [("connector", connector)])
    }

    func submit(_ connector: String, _ result: String) {
        counter("smpp_submits", "submit_sm answers per connector", [("connector", connector), ("result", result)])
            .increment()
    }

    func receipt(_ connector: String) {
        counter("smpp_receipts", "Final delivery receipts received per connector", [("connector", connector)])
            .increment()
    }

    func inbound(_ connector: String) {
        counter("smpp_inbound", "Inbound messages received per connector", [("connector", connector)]).increment()
    }

    func bound(_ connector: String, _ isBound: Bool) {
        gauge("smpp_bound", "1 while the connector is bound to its SMSC", connector: connector)
            .set(Double(isBound ? 1 : 0))
    }

    func serverWindowFull() {
        counter(Self.serverCounters[0].0, Self.serverCounters[0].1, []).increment()
    }

    func window(_ connector: String, _ inUse: Int) {
        gauge("smpp_window_in_use", "submit_sm in flight per connector", connector: connector).set(Double(inUse))
    }
}
