import Prometheus

extension HostMetrics {
    /// The HTTP listener's series on the public `/metrics`: `switchboard_http_connections` (open
    /// now), `switchboard_http_connections_limit` (the cap in force) and
    /// `switchboard_http_connections_refused_total` (answered 503 at the cap). Returns what the
    /// listener calls on every change: the connections open, and whether one was refused.
    package func httpConnectionObserver(limit: Int) -> @Sendable (_ open: Int, _ refused: Bool) -> Void {
        let open = registry.makeGauge(
            descriptor: .init(
                namespace: "switchboard", metricName: "http_connections", unitName: "",
                helpText: "HTTP connections open now"))
        let cap = registry.makeGauge(
            descriptor: .init(
                namespace: "switchboard", metricName: "http_connections_limit", unitName: "",
                helpText: "HTTP connections the daemon holds at most (http.max_connections, or the descriptor budget)"))
        cap.set(Double(limit))
        let refused = registry.makeCounter(
            descriptor: .init(
                namespace: "switchboard", metricName: "http_connections_refused", unitName: "total",
                helpText: "HTTP connections answered 503 because the cap was reached"))
        return { count, wasRefused in
            open.set(Double(count))
            if wasRefused { refused.increment() }
        }
    }

    /// Counts requests cut off because their body did not arrive within `http.request_timeout_seconds`.
    package func httpRequestTimeoutCounter() -> @Sendable () -> Void {
        let timeouts = registry.makeCounter(
            descriptor: .init(
                namespace: "switchboard", metricName: "http_request_timeouts", unitName: "total",
                helpText: "HTTP requests answered 408 because the body did not arrive in time"))
        return { timeouts.increment() }
    }
}
