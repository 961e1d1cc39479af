import Prometheus
import SwitchboardAddons
import SwitchboardCore

/// The daemon's own Prometheus metrics, served on `/metrics`.
public struct HostMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let messagesAccepted: Counter
    let messagesRefused: Counter
    let requests: DurationHistogram

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        messagesAccepted = registry.makeCounter(
            descriptor: .init(
                namespace: "switchboard", metricName: "messages_accepted", unitName: "total",
                helpText: "Outbound messages accepted by the API"))
        messagesRefused = registry.makeCounter(
            descriptor: .init(
                namespace: "switchboard", metricName: "messages_refused", unitName: "total",
                helpText: "Outbound messages refused (validation, opt-out, rate limit)"))
        requests = registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "switchboard", metricName: "http_request_duration", unitName: "seconds",
                helpText: "API request latency"),
            buckets: [
                .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1),
            ])
    }

    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
