import Foundation

/// When a failed runner may come back, and when its add-on is quarantined instead: the one place
/// that decides restart timing for isolated add-ons.
package struct RunnerSupervisionPolicy: Sendable, Equatable {
    /// Failures within `failureWindow` that quarantine the add-on.
    package var maxFailures: Int
    /// How far back failures count towards `maxFailures`.
    package var failureWindow: Duration
    /// How long a quarantined add-on refuses requests before a runner is tried again.
    package var quarantine: Duration
    /// How long a runner asked to end on its own (after a reload) may take before it is killed.
    package var stopGracePeriod: Duration = .seconds(5)

    package init(maxFailures: Int, failureWindow: Duration, quarantine: Duration) {
        self.maxFailures = maxFailures
        self.failureWindow = failureWindow
        self.quarantine = quarantine
    }

    /// The operator's settings (`failure_window_seconds`, `quarantine_seconds`, `max_failures`).
    package init(_ settings: IsolationSettings) {
        self.init(
            maxFailures: settings.maxFailures, failureWindow: .seconds(settings.failureWindowSeconds),
            quarantine: .seconds(settings.quarantineSeconds))
    }

    /// The wait before the next runner, s, after `failures` failures within the window (1 for the
    /// first): 100 ms doubling to at most 10 s. Short at first, so a runner that failed once is back
    /// within 100 ms; capped, so one that keeps failing is still retried every 10 s until quarantine
    /// takes over.
    package static func backoffSeconds(afterFailures failures: Int) -> Double {
        min(0.1 * pow(2, Double(failures - 1)), 10)
    }
}
