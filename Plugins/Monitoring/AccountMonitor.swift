import AddonKit

/// One account's API monitoring: its request window, its two alerts, and when metrics are due.
struct AccountMonitor: Sendable {
    /// Metrics go out on the 1st, 11th, 21st... request of an account, and whenever an alert
    /// changes. api.request is the busiest event there is and each metric is a host write, while
    /// /metrics is only scraped every few seconds: publishing on every request would multiply the
    /// host's writes by six for values nobody reads. Starting with the first request makes a quiet
    /// account visible at once.
    static let metricsInterval = 10

    private var window: RequestWindow
    private var errorRateAlert: ThresholdAlert
    private var latencyAlert: ThresholdAlert
    private let minRequests: Int
    private var requestsSeen = 0

    init(settings: MonitorSettings) {
        window = RequestWindow(capacity: settings.windowSize)
        errorRateAlert = ThresholdAlert(name: "api_error_rate", threshold: settings.errorRateThreshold)
        latencyAlert = ThresholdAlert(name: "api_latency_p99", threshold: settings.latencyP99ThresholdMs)
        minRequests = settings.minRequests
    }

    /// Adds one request and returns what to publish.
    mutating func record(statusCode: Int64, latencyMs: Int64) -> MonitorOutput {
        window.add(statusCode: statusCode, latencyMs: latencyMs)
        requestsSeen += 1
        let errorRate = window.errorRate
        let p99 = Double(window.latencyPercentile(99) ?? 0)
        let enough = window.count >= minRequests

        var output = MonitorOutput()
        if let change = errorRateAlert.evaluate(errorRate, hasEnoughEvidence: enough) {
            output.alerts.append(AlertChange(errorRateAlert, change, value: errorRate.rounded(toPlaces: 4)))
        }
        if let change = latencyAlert.evaluate(p99, hasEnoughEvidence: enough) {
            output.alerts.append(AlertChange(latencyAlert, change, value: p99))
        }
        if output.alerts.isEmpty, (requestsSeen - 1) % Self.metricsInterval != 0 { return output }
        output.metrics = [
            Metric(name: "api_error_rate", value: errorRate.rounded(toPlaces: 4)),
            Metric(name: "api_client_error_rate", value: window.clientErrorRate.rounded(toPlaces: 4)),
            Metric(name: "api_latency_p50_ms", value: Double(window.latencyPercentile(50) ?? 0)),
            Metric(name: "api_latency_p95_ms", value: Double(window.latencyPercentile(95) ?? 0)),
            Metric(name: "api_latency_p99_ms", value: p99),
            Metric(name: "api_requests_in_window", value: Double(window.count)),
        ]
        return output
    }
}
