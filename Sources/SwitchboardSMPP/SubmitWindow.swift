import Synchronization

/// Bounds the `submit_sm` in flight on a connector (its window, SMPP 3.4 §2.6: the ESME may have
/// several requests outstanding) and spaces them to at most `perSecond`.
final class SubmitWindow: Sendable {
    private struct State {
        var inUse = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var nextSlot = ContinuousClock.now
    }

    let size: Int
    private let interval: Duration?
    private let state = Mutex(State())

    init(size: Int, perSecond: Double?) {
        self.size = max(1, size)
        interval = perSecond.map { .nanoseconds(Int64(1e9 / max($0, 0.001))) }
    }

    var inUse: Int { state.withLock { $0.inUse } }

    /// Waits for a place in the window and, with a rate, for the next free slot in time.
    func acquire() async {
        let admitted = state.withLock { state -> Bool in
            guard state.inUse < size else { return false }
            state.inUse += 1
            return true
        }
        if !admitted {
            await withCheckedContinuation { continuation in
                let admittedNow = state.withLock { state -> Bool in
                    if state.inUse < size {
                        state.inUse += 1
                        return true
                    }
                    state.waiters.append(continuation)
                    return false
                }
                if admittedNow { continuation.resume() }
            }
        }
        guard let interval else { return }
        let slot = state.withLock { state -> ContinuousClock.Instant in
            let slot = max(state.nextSlot, .now)
            state.nextSlot = slot + interval
            return slot
        }
        if slot > .now { try? await Task.sleep(until: slot, clock: .continuous) }
    }

    /// Gives a place back (the response arrived, or the request failed).
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.inUse -= 1
            return nil
        }
        // The place passes to the first waiter directly.
        next?.resume()
    }
}
