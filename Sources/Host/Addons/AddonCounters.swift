import Prometheus
import Synchronization

/// Per add-on metrics on /metrics.
final class AddonCounters: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let counters = Mutex<[String: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])

    private func gauge(_ name: String, _ help: String, _ addonID: String) -> Gauge {
        gauges.withLock { gauges in
            let key = name + "|" + addonID
            if let gauge = gauges[key] { return gauge }
            let gauge = registry.makeGauge(
                descriptor: .init(
                    namespace: "switchboard", subsystem: "addon", metricName: name, unitName: "", helpText: help),
                labels: [("addon", addonID)])
            gauges[key] = gauge
            return gauge
        }
    }

    /// Copies the runners' state into gauges, just before a scrape.
    func publish(_ status: AddonRuntimeStatus, addonID: String) {
        gauge("runner_crashes", "Runner crashes since start", addonID).set(to: Double(status.crashes))
        gauge("runner_restarts", "Runner restarts since start", addonID).set(to: Double(status.restarts))
        gauge("runner_timeouts", "Requests the add-on did not answer within budget", addonID).set(
            to: Double(status.timeouts))
        gauge("quarantined", "1 while the add-on is quarantined", addonID).set(
            to: status.state == "quarantined" ? 1.0 : 0.0)
        gauge("outbox_depth", "Events and erasure orders waiting for the add-on", addonID).set(
            to: Double(status.outboxDepth ?? 0))
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private func counter(_ name: String, _ help: String, _ addonID: String) -> Counter {
        counters.withLock { counters in
            let key = name + "|" + addonID
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: .init(
                    namespace: "switchboard", subsystem: "addon", metricName: name, unitName: "total", helpText: help),
                labels: [("addon", addonID)])
            counters[key] = counter
            return counter
        }
    }

    func eventsDelivered(_ id: String) -> Counter { counter("events_delivered", "Events delivered to the add-on", id) }
    func eventErrors(_ id: String) -> Counter { counter("event_errors", "Events the add-on refused permanently", id) }
    func checkFailures(_ id: String) -> Counter {
        counter("check_failures", "Pre-send checks that failed or timed out", id)
    }
    func failOpenPasses(_ id: String) -> Counter {
        counter("fail_open_passes", "Messages let through because a fail_open check failed", id)
    }

    func checkDuration(_ id: String) -> DurationHistogram {
        histograms.withLock { histograms in
            if let histogram = histograms[id] { return histogram }
            let histogram = registry.makeDurationHistogram(
                descriptor: .init(
                    namespace: "switchboard", subsystem: "addon", metricName: "check_duration", unitName: "seconds",
                    helpText: "Pre-send check latency"),
                labels: [("addon", id)],
                buckets: [
                    .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1),
                    .milliseconds(10), .milliseconds(100),
                ])
            histograms[id] = histogram
            return histogram
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
