import AddonKit
import PluginAPI

/// One Monitoring instance: per-account request windows in memory, published as metrics and
/// threshold alerts. Nothing is persisted: after a restart the windows refill from new traffic.
final class MonitoringInstance: Sendable {
    private let host: HostHandle
    private let settings: MonitorSettings
    private let monitors = Locked<[String: AccountMonitor]>([:])
    /// What the batch being delivered has to publish, emitted by `endBatch`: alerts in order, and
    /// each metric's latest value only (a batch of requests for one account publishes once).
    private let pending = Locked(Pending())

    private struct Pending {
        var alerts: [(account: String, json: String, alert: String)] = []
        var metrics: [MetricKey: String] = [:]
    }

    private struct MetricKey: Hashable {
        var account: String
        var name: String
    }

    init(host: HostHandle) {
        self.host = host
        settings = MonitorSettings(host: host)
    }

    func handle(_ event: EventView) -> Int32 {
        guard event.typeName == "api.request" else { return SB_OK }
        guard let statusCode = event.int("usage.status_code"), let latencyMs = event.int("usage.latency_ms") else {
            host.log(.error, "event \(event.eventID) of account \(event.accountID) lacks status code or latency")
            return SB_ERROR
        }
        let account = event.accountID
        let output = monitors.withLock { monitors in
            monitors[account, default: AccountMonitor(settings: settings)]
                .record(statusCode: statusCode, latencyMs: latencyMs)
        }
        guard !output.alerts.isEmpty || !output.metrics.isEmpty else { return SB_OK }
        let now = host.nowMs
        pending.withLock { pending in
            for change in output.alerts {
                pending.alerts.append((account, change.json(atMs: now), "\(change.alert)"))
            }
            for metric in output.metrics {
                pending.metrics[MetricKey(account: account, name: metric.name)] = metric.json
            }
        }
        return SB_OK
    }

    /// Ends a delivered batch (ABI 1.1 `end_batch`): publishes what it changed. Never fails: the
    /// windows live in memory only, and a refused row is replaced by the next publication.
    func endBatch() -> Int32 {
        let batch = pending.withLock { pending in
            defer { pending = Pending() }
            return pending
        }
        for alert in batch.alerts
        where !host.emit(kind: "alert", accountID: alert.account, key: nil, json: alert.json) {
            host.log(.warning, "host refused the \(alert.alert) alert of account \(alert.account)")
        }
        // A refused metric is not logged: it would repeat on every publication, and the next one
        // replaces it anyway.
        for (key, json) in batch.metrics {
            host.emit(kind: "metric", accountID: key.account, key: key.name, json: json)
        }
        return SB_OK
    }

    func erase(_ subject: SubjectView) -> Int32 {
        // Windows hold status codes and latencies per account, nothing about numbers or contacts.
        if subject.kind == SB_SUBJECT_ACCOUNT {
            let account = subject.accountID
            _ = monitors.withLock { $0.removeValue(forKey: account) }
            pending.withLock { pending in
                pending.alerts.removeAll { $0.account == account }
                pending.metrics = pending.metrics.filter { $0.key.account != account }
            }
        }
        return SB_OK
    }
}
