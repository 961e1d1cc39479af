import AddonKit

/// A gauge to publish: the host shows the latest value per (account, name) to the operator on
/// /v1/admin/metrics.
struct Metric: Equatable, Sendable {
    let name: String
    let value: Double

    var json: String { "{\"name\":\(jsonString(name)),\"value\":\(jsonNumber(value))}" }
}

/// An alert that started or stopped firing.
struct AlertChange: Equatable, Sendable {
    let alert: String
    let change: ThresholdAlert.Change
    let value: Double
    let threshold: Double

    /// `value` is what the rule saw, possibly rounded for display.
    init(_ rule: ThresholdAlert, _ change: ThresholdAlert.Change, value: Double) {
        alert = rule.name
        self.change = change
        self.value = value
        threshold = rule.threshold
    }

    func json(atMs: Int64) -> String {
        "{\"alert\":\(jsonString(alert)),\"state\":\(jsonString(change.rawValue)),"
            + "\"value\":\(jsonNumber(value)),\"threshold\":\(jsonNumber(threshold)),\"at_ms\":\(atMs)}"
    }
}

/// What one request asks the add-on to publish.
struct MonitorOutput: Equatable, Sendable {
    var alerts: [AlertChange] = []
    /// Empty unless metrics are due (see AccountMonitor).
    var metrics: [Metric] = []
}
