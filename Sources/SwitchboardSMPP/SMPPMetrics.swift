import Prometheus
import Synchronization

/// The SMPP series on `/metrics`, labelled by connector name (an operator's name, never a
/// customer's identifier):
/// - `switchboard_smpp_submits_total{connector,result="accepted|rejected|throttled|timeout|unavailable"}`
/// - `switchboard_smpp_receipts_total{connector}`, `switchboard_smpp_inbound_total{connector}`
/// - `switchboard_smpp_bound{connector}` (1 while bound), `switchboard_smpp_window_in_use{connector}`
/// - `switchboard_smpp_server_window_full_total`: times a customer's bind had `submit_window`
///   requests being answered and was not read until one was
public final class SMPPMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
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
        counter(
            "smpp_server_window_full", "Times a customer bind filled its submit_window and reading paused", []
        ).increment()
    }

    func window(_ connector: String, _ inUse: Int) {
        gauge("smpp_window_in_use", "submit_sm in flight per connector", connector: connector).set(Double(inUse))
    }
}
