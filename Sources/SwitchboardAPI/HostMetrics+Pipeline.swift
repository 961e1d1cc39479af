import Prometheus
import SwitchboardCore

extension HostMetrics {
    /// The delivery pipeline's series on the public `/metrics`; no label names an account:
    /// - `switchboard_carrier_submissions_total{result="accepted|rejected|deferred"}`: answers of the
    ///   carrier (deferred: no route could take the message now; it is submitted again later);
    /// - `switchboard_carrier_reconciliations_total{answer="accepted|not_received|unknown"}`: messages
    ///   whose submission began before a restart, settled by asking the carrier;
    /// - `switchboard_storage_write_retries_total{work="submit_intent|carrier_results|delivery_reports"}`:
    ///   writes the storage refused (a full disk) and the pipeline tries again; alert on its rate;
    /// - `switchboard_carrier_submissions_in_flight`: messages claimed for submission and not yet
    ///   answered by the carrier (waiting for a place in a connector's window, or in it); at most
    ///   twice the SMPP connectors' windows together.
    package func pipelineMetrics() -> any PipelineMetrics {
        PipelineCounters(registry: registry)
    }
}

private struct PipelineCounters: PipelineMetrics {
    let accepted: Counter
    let rejected: Counter
    let deferred: Counter
    let reconciliations: [ReconciliationAnswer: Counter]
    let retries: [PipelineWork: Counter]
    let inFlight: Gauge

    init(registry: PrometheusCollectorRegistry) {
        func counter(_ name: String, _ help: String, _ label: (String, String)) -> Counter {
            registry.makeCounter(
                descriptor: .init(namespace: "switchboard", metricName: name, unitName: "total", helpText: help),
                labels: [label])
        }
        let submissions = "Carrier answers to submissions"
        accepted = counter("carrier_submissions", submissions, ("result", "accepted"))
        rejected = counter("carrier_submissions", submissions, ("result", "rejected"))
        deferred = counter("carrier_submissions", submissions, ("result", "deferred"))
        reconciliations = Dictionary(
            uniqueKeysWithValues: ReconciliationAnswer.allCases.map {
                (
                    $0,
                    counter(
                        "carrier_reconciliations",
                        "Messages whose submission began before a restart, by the carrier's answer",
                        ("answer", $0.rawValue))
                )
            })
        retries = Dictionary(
            uniqueKeysWithValues: PipelineWork.allCases.map {
                (
                    $0,
                    counter(
                        "storage_write_retries", "Delivery pipeline writes refused by the storage and tried again",
                        ("work", $0.rawValue))
                )
            })
        inFlight = registry.makeGauge(
            descriptor: .init(
                namespace: "switchboard", metricName: "carrier_submissions", unitName: "in_flight",
                helpText: "Messages claimed for submission and not yet answered by the carrier"))
    }

    func submitted(_ result: CarrierSubmitResult) {
        switch result {
        case .accepted, .acceptedAs: accepted.increment()
        case .rejected: rejected.increment()
        case .retryLater: deferred.increment()
        }
    }

    func reconciled(_ answer: ReconciliationAnswer) { reconciliations[answer]?.increment() }

    func writeRetried(_ work: PipelineWork) { retries[work]?.increment() }

    func inFlight(_ change: Int) { inFlight.increment(by: Double(change)) }
}
