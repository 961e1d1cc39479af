/// The operator's settings for Monitoring. The defaults repeat the manifest's "config", which the
/// host normally supplies; they apply only when a host leaves a setting unset.
struct MonitorSettings: Sendable {
    /// How many of an account's most recent requests the statistics cover.
    var windowSize = 200
    /// api_error_rate fires above this share of 5xx responses.
    var errorRateThreshold = 0.05
    /// api_latency_p99 fires above this p99 latency.
    var latencyP99ThresholdMs = 1000.0
    /// No alert fires on fewer requests than this, so one early failure is not a 100% error rate.
    var minRequests = 20
}
