import Dispatch
import Synchronization

/// An unbounded hand-off queue whose consumer takes everything that has arrived in one go, so that
/// work arriving while a batch is being written lands in the next batch instead of its own.
///
/// One consumer at a time. Waiting is a plain continuation rather than an `AsyncStream`: a stream is
/// finished for good when a waiting task is cancelled, which would turn every later wait into a
/// busy loop.
final class BatchQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var waiter: CheckedContinuation<Void, Never>?
        var finished = false
    }

    private let state = Mutex(State())

    init() {}

    func push(_ element: Element) {
        push(contentsOf: [element])
    }

    func push(contentsOf elements: [Element]) {
        guard !elements.isEmpty else { return }
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.items.append(contentsOf: elements)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    var count: Int { state.withLock { $0.items.count } }

    /// Forgets what is queued (for queues used only as wake-up signals).
    func drain() {
        state.withLock { $0.items.removeAll(keepingCapacity: true) }
    }

    /// Returns once something is queued, the queue is finished, or `timeout` passed.
    func wait(timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let registered = state.withLock { state -> Bool in
                guard state.items.isEmpty, !state.finished else { return false }
                state.waiter?.resume()
                state.waiter = continuation
                return true
            }
            guard registered else { return continuation.resume() }
            let (seconds, attoseconds) = timeout.components
            let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
                let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume()
            }
        }
    }

    /// Waits until something is queued and takes all of it; nil once the calling task is cancelled
    /// or the queue is finished.
    func next() async -> [Element]? {
        while true {
            let (taken, finished) = state.withLock { state -> ([Element], Bool) in
                let taken = state.items
                state.items.removeAll(keepingCapacity: true)
                return (taken, state.finished)
            }
            if !taken.isEmpty { return taken }
            if finished || Task.isCancelled { return nil }
            await wait(timeout: .milliseconds(250))
        }
    }

    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
