import AddonKit

extension MonitorSettings {
    /// Reads the settings from the host, keeping the default (with a logged warning) for any that
    /// does not parse or is out of range.
    init(host: HostHandle) {
        let defaults = MonitorSettings()
        windowSize = host.config("window", default: defaults.windowSize, in: 1...1_000_000)
        errorRateThreshold = host.config("error_rate_threshold", default: defaults.errorRateThreshold, in: 0...1)
        latencyP99ThresholdMs = host.config(
            "latency_p99_threshold_ms", default: defaults.latencyP99ThresholdMs, in: 0...Double(Int64.max))
        minRequests = host.config("min_requests", default: defaults.minRequests, in: 0...Int.max)
        if minRequests > windowSize {
            host.log(.warning, "min_requests \(minRequests) exceeds window \(windowSize); no alert can ever fire")
        }
    }
}
