import Prometheus
import SwitchboardAddons
import SwitchboardCore

/// The daemon's Prometheus metrics, in two registries by who may read them.
///
/// `registry` is served on the unauthenticated `GET /metrics`: host-wide and per add-on figures
/// only, never a label or a name that identifies an account, a number, an email or an address.
/// `accountRegistry` holds the series that name an account (the metrics add-ons emit, labelled
/// `addon` and `account`) and is served only to the operator, on `GET /v1/admin/metrics`; an
/// account's series leave it when the account is erased.
public struct HostMetrics: Sendable {
    /// Public: scraped without credentials.
    public let registry: PrometheusCollectorRegistry
    /// Operator only: per-account series.
    public let accountRegistry: PrometheusCollectorRegistry
    let messagesAccepted: Counter
    let messagesRefused: Counter
    let requests: DurationHistogram

    /// - Precondition: `registry` and `accountRegistry` are two different registries; one shared
    ///   registry would put account ids back on the public `/metrics`.
    public init(
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        accountRegistry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        precondition(registry !== accountRegistry, "per-account series must not share the public registry")
        self.registry = registry
        self.accountRegistry = accountRegistry
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

    /// The public registry in the Prometheus text format, for `/metrics`.
    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// The per-account registry in the Prometheus text format, for `/v1/admin/metrics`.
    func renderAccountSeries() -> [UInt8] {
        var buffer: [UInt8] = []
        accountRegistry.emit(into: &buffer)
        return buffer
    }
}
