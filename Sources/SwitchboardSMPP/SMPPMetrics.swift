import Prometheus
import Synchronization

/// The SMPP series on `/metrics`, labelled by connector name (an operator's name, never a
/// customer's identifier):
/// - `switchboard_smpp_submits_total{connector,result="accepted|rejected|throttled|timeout|unavailable"}`
/// - `switchboard_smpp_receipts_total{connector}`, `switchboard_smpp_inbound_total{connector}`
/// - `switchboard_smpp_bound{connector}` (1 while bound), `switchboard_smpp_window_in_use{connector}`
public final class SMPPMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func submit(_ connector: String, _ result: String) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "switchboard", metricName: "smpp_submits", unitName: "total",
                helpText: "submit_sm answers per connector"),
            labels: [("connector", connector), ("result", result)]
        ).increment()
    }

    func receipt(_ connector: String) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "switchboard", metricName: "smpp_receipts", unitName: "total",
                helpText: "Final delivery receipts received per connector"),
            labels: [("connector", connector)]
        ).increment()
    }

    func inbound(_ connector: String) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "switchboard", metricName: "smpp_inbound", unitName: "total",
                helpText: "Inbound messages received per connector"),
            labels: [("connector", connector)]
        ).increment()
    }

    func bound(_ connector: String, _ isBound: Bool) {
        registry.makeGauge(
            descriptor: .init(
                namespace: "switchboard", metricName: "smpp_bound", unitName: "",
                helpText: "1 while the connector is bound to its SMSC"),
            labels: [("connector", connector)]
        ).set(Double(isBound ? 1 : 0))
    }

    func window(_ connector: String, _ inUse: Int) {
        registry.makeGauge(
            descriptor: .init(
                namespace: "switchboard", metricName: "smpp_window_in_use", unitName: "",
                helpText: "submit_sm in flight per connector"),
            labels: [("connector", connector)]
        ).set(Double(inUse))
    }
}
