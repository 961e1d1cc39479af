import DequeModule
import Dispatch
import Synchronization

/// An unbounded hand-off queue whose consumer takes everything that has arrived in one go, so that
/// work arriving while a batch is being written lands in the next batch instead of its own.
///
/// The items are a `Deque`: a consumer that takes a few from the front of a long backlog (the
/// delivery pipeline claiming as connector windows free, with thousands of messages queued behind
/// a slow SMSC) used to move every remaining element with `Array.removeFirst`, under the lock that
/// every HTTP send's `push` waits for.
///
/// One consumer at a time. Waiting is a plain continuation rather than an `AsyncStream`: a stream is
/// finished for good when a waiting task is cancelled, which would turn every later wait into a
/// busy loop.
package final class BatchQueue<Element: Sendable>: Sendable {
    private struct State {
        var items = Deque<Element>()
        var waiter: CheckedContinuation<Void, Never>?
        /// Counts waits, so a timer can tell whether the wait it was set for is still the current one.
        var generation: UInt64 = 0
        var finished = false
    }

    private let state = Mutex(State())

    package init() {}

    package func push(_ element: Element) {
        push(contentsOf: [element])
    }

    package func push(contentsOf elements: [Element]) {
        guard !elements.isEmpty else { return }
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.items.append(contentsOf: elements)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    package var count: Int { state.withLock { $0.items.count } }

    /// Forgets what is queued (for queues used only as wake-up signals).
    package func drain() {
        state.withLock { $0.items.removeAll(keepingCapacity: true) }
    }

    /// Returns once something is queued, the queue is finished, the calling task is cancelled, or
    /// `timeout` (if any) passed.
    package func wait(timeout: Duration?) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let generation = state.withLock { state -> UInt64? in
                    guard state.items.isEmpty, !state.finished, !Task.isCancelled else { return nil }
                    state.waiter?.resume()
                    state.waiter = continuation
                    state.generation &+= 1
                    return state.generation
                }
                guard let generation else { return continuation.resume() }
                guard let timeout else { return }
                let (seconds, attoseconds) = timeout.components
                let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
                DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
                    self.resumeWaiter(ifStill: generation)
                }
            }
        } onCancel: {
            resumeWaiter(ifStill: nil)
        }
    }

    /// Resumes the waiting consumer; with a generation, only if it is still the wait that set the
    /// timer. A timer left over from an earlier wait used to wake the next one early, thousands of
    /// times a second under load.
    private func resumeWaiter(ifStill generation: UInt64?) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let generation, generation != state.generation { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits until something is queued and takes all of it; nil once the calling task is cancelled
    /// or the queue is finished.
    package func next() async -> [Element]? {
        while true {
            let (taken, finished) = state.withLock { state -> ([Element], Bool) in
                let taken = Array(state.items)
                state.items.removeAll(keepingCapacity: true)
                return (taken, state.finished)
            }
            if !taken.isEmpty { return taken }
            if finished || Task.isCancelled { return nil }
            await wait(timeout: nil)
        }
    }

    /// Waits until something is queued and takes at most `limit` of it, oldest first; nil once the
    /// calling task is cancelled or the queue is finished. The rest stays queued for the next call.
    package func next(max limit: Int) async -> [Element]? {
        precondition(limit > 0, "a batch holds at least one element")
        while true {
            let (taken, finished) = state.withLock { state -> ([Element], Bool) in
                guard state.items.count > limit else {
                    let taken = Array(state.items)
                    state.items.removeAll(keepingCapacity: true)
                    return (taken, state.finished)
                }
                let taken = Array(state.items.prefix(limit))
                state.items.removeFirst(limit)
                return (taken, state.finished)
            }
            if !taken.isEmpty { return taken }
            if finished || Task.isCancelled { return nil }
            await wait(timeout: nil)
        }
    }

    /// Takes everything queued now without waiting.
    package func takeAll() -> [Element] {
        state.withLock { state in
            defer { state.items.removeAll(keepingCapacity: true) }
            return Array(state.items)
        }
    }

    package func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
