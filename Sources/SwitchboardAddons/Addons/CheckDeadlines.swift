import DequeModule
import Dispatch
import Synchronization

/// Gives up on an in-process add-on's pre-send checks that are not answered within their budget,
/// with one timer for all of them instead of one per check.
///
/// A timer per check (`DispatchQueue.asyncAfter`) created a timer source for every message and woke
/// a thread for each when its budget ran out, answered or not: about 1% of the daemon's samples
/// with the three bundled add-ons, beside the wake-ups. Checks of one add-on share one budget, so
/// their deadlines come in the order the checks start: the timer waits for the oldest unanswered
/// one, and when it fires gives up on every check whose deadline has passed and waits for the next
/// unanswered one. Each check still times out at its own deadline; under steady load the timer
/// fires about once per budget, not once per check.
package final class CheckDeadlines: Sendable {
    private struct Waiting {
        var deadline: DispatchTime
        var expire: @Sendable () -> Void
    }

    private struct State {
        /// Unanswered checks by token.
        var waiting: [UInt64: Waiting] = [:]
        /// Tokens in the order their checks started (so by deadline); answered ones leave lazily.
        var order: Deque<UInt64> = []
        var nextToken: UInt64 = 0
        /// Whether a timer is set (for the deadline of the front of `order` or an earlier one).
        var armed = false
    }

    private let state = Mutex(State())

    package init() {}

    /// Starts watching a check that must be answered by `deadline`; `expire` runs once if it is not
    /// (on a global queue). Returns the token `answered` takes.
    package func watch(until deadline: DispatchTime, expire: @escaping @Sendable () -> Void) -> UInt64 {
        let (token, arm) = state.withLock { state -> (UInt64, Bool) in
            state.nextToken += 1
            state.waiting[state.nextToken] = Waiting(deadline: deadline, expire: expire)
            state.order.append(state.nextToken)
            defer { state.armed = true }
            return (state.nextToken, !state.armed)
        }
        if arm { schedule(at: deadline) }
        return token
    }

    /// The check of `token` was answered: it will not be given up on.
    package func answered(_ token: UInt64) {
        state.withLock { state in
            state.waiting[token] = nil
            while let first = state.order.first, state.waiting[first] == nil { state.order.removeFirst() }
        }
    }

    /// Checks watched and not answered yet.
    package var count: Int { state.withLock { $0.waiting.count } }

    private func schedule(at deadline: DispatchTime) {
        DispatchQueue.global().asyncAfter(deadline: deadline) { self.fire() }
    }

    private func fire() {
        let now = DispatchTime.now()
        let (expired, next) = state.withLock { state -> ([@Sendable () -> Void], DispatchTime?) in
            var expired: [@Sendable () -> Void] = []
            while let first = state.order.first {
                guard let waiting = state.waiting[first] else {
                    state.order.removeFirst()
                    continue
                }
                guard waiting.deadline <= now else { break }
                expired.append(waiting.expire)
                state.waiting[first] = nil
                state.order.removeFirst()
            }
            let next = state.order.first.flatMap { state.waiting[$0]?.deadline }
            state.armed = next != nil
            return (expired, next)
        }
        for expire in expired { expire() }
        if let next { schedule(at: next) }
    }
}
