import AddonKit
import PluginAPI

/// One Monitoring instance: per-account request windows in memory, published as metrics and
/// threshold alerts. Nothing is persisted: after a restart the windows refill from new traffic.
final class MonitoringInstance: Sendable {
    private let host: HostHandle
    private let settings: MonitorSettings
    private let monitors = Locked<[String: AccountMonitor]>([:])

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
        monitors.withLock { monitors in
            let output = monitors[account, default: AccountMonitor(settings: settings)]
                .record(statusCode: statusCode, latencyMs: latencyMs)
            publish(output, account: account)
        }
        return SB_OK
    }

    func erase(_ subject: SubjectView) -> Int32 {
        // Windows hold status codes and latencies per account, nothing about numbers or contacts.
        if subject.kind == SB_SUBJECT_ACCOUNT {
            let account = subject.accountID
            _ = monitors.withLock { $0.removeValue(forKey: account) }
        }
        return SB_OK
    }

    private func publish(_ output: MonitorOutput, account: String) {
        if !output.alerts.isEmpty {
            let now = host.nowMs
            for change in output.alerts
            where !host.emit(kind: "alert", accountID: account, key: nil, json: change.json(atMs: now)) {
                host.log(.warning, "host refused the \(change.alert) alert of account \(account)")
            }
        }
        // A refused metric is not logged: it would repeat on every publication, and the next one
        // replaces it anyway.
        for metric in output.metrics {
            host.emit(kind: "metric", accountID: account, key: metric.name, json: metric.json)
        }
    }
}
