import Prometheus
import SwitchboardCore

/// Per add-on metrics on /metrics. The registry itself returns the existing metric for a name and
/// label set, so nothing is cached here.
final class AddonCounters: Sendable {
    private let registry: PrometheusCollectorRegistry

    private func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchboard", subsystem: "addon", metricName: name, unitName: unit, helpText: help)
    }

    private func gauge(_ name: String, _ help: String, _ addonID: String) -> Gauge {
        registry.makeGauge(descriptor: descriptor(name, "", help), labels: [("addon", addonID)])
    }

    /// Copies the runners' state into gauges, just before a scrape.
    func publish(_ status: AddonRuntimeStatus, addonID: String) {
        gauge("runner_crashes", "Runner crashes since start", addonID).set(to: Double(status.crashes))
        gauge("runner_restarts", "Runner restarts since start", addonID).set(to: Double(status.restarts))
        gauge("runner_timeouts", "Requests the add-on did not answer within budget, counted against it", addonID).set(
            to: Double(status.timeouts))
        gauge(
            "runner_host_slow_timeouts",
            "Pre-send checks that timed out twice while the host was overloaded; not counted against the add-on",
            addonID
        ).set(to: Double(status.hostSlowTimeouts))
        gauge("runner_check_retries", "Pre-send checks sent again after a timeout", addonID).set(
            to: Double(status.checkRetries))
        gauge("quarantined", "1 while the add-on is quarantined", addonID).set(
            to: status.state == .quarantined ? 1.0 : 0.0)
        gauge("outbox_depth", "Events and erasure orders waiting for the add-on", addonID).set(
            to: Double(status.outboxDepth ?? 0))
        gauge("in_flight", "Delivery batches and checks the add-on is working on", addonID).set(
            to: Double(status.inFlight ?? 0))
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private func counter(_ name: String, _ help: String, _ addonID: String) -> Counter {
        registry.makeCounter(descriptor: descriptor(name, "total", help), labels: [("addon", addonID)])
    }

    func eventsDelivered(_ id: String) -> Counter {
        counter(
            "events_delivered",
            "Events the add-on received and answered (each once, however often it asked for it again)", id)
    }
    func eventErrors(_ id: String) -> Counter { counter("event_errors", "Events the add-on refused permanently", id) }
    func checkFailures(_ id: String) -> Counter {
        counter("check_failures", "Pre-send checks that failed or timed out", id)
    }
    func failOpenPasses(_ id: String) -> Counter {
        counter("fail_open_passes", "Messages let through because a fail_open check failed", id)
    }

    func checkDuration(_ id: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: descriptor("check_duration", "seconds", "Pre-send check latency"), labels: [("addon", id)],
            buckets: [
                .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1),
                .milliseconds(10), .milliseconds(100),
            ])
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
