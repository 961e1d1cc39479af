/// When to try a failed write again: at once the first time, then after a delay that doubles from
/// `initial` up to `maximum`, and at once again after a success. For work that must be recorded
/// while the database refuses writes (a full disk): retrying in the running daemon means nothing
/// waits for a restart once space is freed, and the backoff keeps a failing disk from being hammered.
package struct WriteRetry: Sendable {
    private let initial: Duration
    private let maximum: Duration
    private var delay: Duration?
    private var notBefore: ContinuousClock.Instant?

    /// - Parameters:
    ///   - initial: the first delay after a failure (default 100 ms).
    ///   - maximum: the longest delay (default 10 s).
    package init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Whether the next attempt may run now.
    package var isDue: Bool {
        guard let notBefore else { return true }
        return ContinuousClock.now >= notBefore
    }

    /// How long until the next attempt may run; zero when it is due.
    package var remaining: Duration {
        guard let notBefore else { return .zero }
        return max(.zero, notBefore - ContinuousClock.now)
    }

    /// Notes how the last attempt went: a success resets the delay, a failure doubles it.
    package mutating func record(success: Bool) {
        if success {
            delay = nil
            notBefore = nil
        } else {
            let next = delay.map { min($0 * 2, maximum) } ?? initial
            delay = next
            notBefore = .now + next
        }
    }
}
