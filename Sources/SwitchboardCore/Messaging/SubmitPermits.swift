import Synchronization

/// How many messages the delivery pipeline may have between its claim and the carrier's answer:
/// claimed, waiting for a place in a connector's window, or in flight.
///
/// Rationale: the pipeline used to claim everything queued in one writer transaction and wait for
/// the whole batch before claiming again. With an SMSC slower than the HTTP front door that made
/// claims of thousands of rows that inserts waited behind (an HTTP p99 of 50–227 ms), thousands of
/// tasks parked on a 64-place window (about 200 MiB), and every message arriving meanwhile waited
/// for the slowest of the batch (docs/benchmarks.md, SMPP). Permits bound all three: a message is
/// claimed when a place frees, not before.
///
/// One consumer (the pipeline's loop) acquires; any task releases.
final class SubmitPermits: Sendable {
    private struct State {
        var free: Int
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>

    /// - Parameter capacity: permits in all, at least 1.
    init(capacity: Int) {
        state = Mutex(State(free: max(1, capacity)))
    }

    /// Waits until at least one permit is free, then takes up to `limit` of them; 0 once the calling
    /// task is cancelled.
    func acquire(upTo limit: Int) async -> Int {
        while true {
            let taken = state.withLock { state -> Int in
                let taken = min(state.free, limit)
                state.free -= taken
                return taken
            }
            if taken > 0 { return taken }
            if Task.isCancelled { return 0 }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { state -> Bool in
                        guard state.free == 0, !Task.isCancelled else { return true }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                wakeWaiter()
            }
        }
    }

    /// Gives `count` permits back.
    func release(_ count: Int) {
        guard count > 0 else { return }
        state.withLock { $0.free += count }
        wakeWaiter()
    }

    private func wakeWaiter() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
