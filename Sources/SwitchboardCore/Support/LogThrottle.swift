import Synchronization

/// Lets one log line through per `interval` and counts the ones held back, for events a peer can
/// cause at will (connections refused at the limit): one line per event would let a flood of them
/// grow the log without bound, and the operator needs the fact and the count, not each one.
package final class LogThrottle: Sendable {
    private struct State {
        var last: ContinuousClock.Instant?
        var held = 0
    }

    private let state = Mutex(State())
    let interval: Duration

    package init(interval: Duration = .seconds(10)) {
        self.interval = interval
    }

    /// Whether to log now, and how many were held back since the last line that went through;
    /// nil while within `interval` of it (the event is counted).
    package func admit(now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            if let last = state.last, now - last < interval {
                state.held += 1
                return nil
            }
            defer {
                state.last = now
                state.held = 0
            }
            return state.held
        }
    }
}
