import Prometheus
import SwitchboardCore

extension HostMetrics {
    /// Status callback attempts by outcome on the public `/metrics`:
    /// `switchboard_callback_attempts_total{outcome="delivered|failed|timed_out|refused"}`. No label
    /// names an account or a receiver.
    package func callbackMetrics() -> any CallbackMetrics {
        CallbackAttemptCounters(registry: registry)
    }
}

private struct CallbackAttemptCounters: CallbackMetrics {
    let counters: [CallbackAttemptKind: Counter]

    init(registry: PrometheusCollectorRegistry) {
        var counters: [CallbackAttemptKind: Counter] = [:]
        for kind in CallbackAttemptKind.allCases where kind != .cancelled {
            counters[kind] = registry.makeCounter(
                descriptor: .init(
                    namespace: "switchboard", metricName: "callback_attempts", unitName: "total",
                    helpText: "Status callback attempts by outcome (refused: a target callbacks may not reach)"),
                labels: [("outcome", kind.rawValue)])
        }
        self.counters = counters
    }

    func attemptFinished(_ kind: CallbackAttemptKind) {
        counters[kind]?.increment()
    }
}
