import Dispatch
import Foundation
import Synchronization

/// Runs password hashes (scrypt, ``PasswordHasher``) off the request threads, a few at a time, and
/// refuses work it could not start soon.
///
/// Why: a hash costs ~100 ms of one core and 32 MiB at the default cost. Run inline, 120 sign-ups
/// at once held both cooperative threads of a 2-core machine for seconds, and every other request
/// (an API-key `GET /v1/account`, which needs no hash) waited behind them: 10 s measured. Here at most
/// `maxConcurrent` hashes run, on Dispatch threads of their own rather than Swift's cooperative pool,
/// so other requests keep their threads; at most `maxWaiting` more wait, first come first served;
/// beyond that ``run(_:)`` throws ``Busy`` at once, which the API answers with 503 and Retry-After.
///
/// Each slot has a serial `DispatchQueue` of its own. A serial queue draws its thread from
/// libdispatch's overcommitting pool, which adds threads beyond the core count; on Linux Swift's
/// cooperative pool runs on the non-overcommitting global queues, whose threads a concurrent queue
/// would share, and a hash there would again hold a thread that tasks need.
public final class PasswordHashingPool: Sendable {
    /// The pool is full: `maxConcurrent` hashes run and `maxWaiting` wait. Retry after
    /// `retryAfterSeconds` (an estimate from the recent hash time, at least 1), or raise
    /// `password_hashing.max_waiting` / `max_concurrent` if this is normal load.
    public struct Busy: Error, Sendable, CustomStringConvertible {
        public let retryAfterSeconds: Int
        public var description: String {
            "password hashing is at capacity; retry after \(retryAfterSeconds) s (password_hashing.max_concurrent, max_waiting)"
        }
    }

    /// Counters since start, for tests and diagnostics.
    package struct Statistics: Sendable, Equatable {
        /// Hashes running now.
        package var running: Int
        /// Requests waiting for a slot now.
        package var waiting: Int
        /// Hashes finished (successfully or not) since start.
        package var completed: Int
        /// Requests refused with ``Busy`` since start.
        package var refused: Int
    }

    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Int, any Error>?
    }

    private struct State {
        /// Slots not running a hash now (indices into `queues`).
        var free: [Int]
        var waiting: [Waiter] = []
        /// Waiters handed a slot before their continuation was attached, by ticket.
        var granted: [UInt64: Int] = [:]
        var nextID: UInt64 = 0
        var completed = 0
        var refused = 0
        /// Moving average of one hash's wall time, in seconds.
        var averageSeconds = 0.1
    }

    public let maxConcurrent: Int
    public let maxWaiting: Int
    private let state: Mutex<State>
    private let queues: [DispatchQueue]

    /// - Parameters:
    ///   - maxConcurrent: hashes run at once (at least 1). Default: the machine's active cores.
    ///   - maxWaiting: requests that may wait for a slot (0 or more); more are refused with ``Busy``.
    public init(maxConcurrent: Int = ProcessInfo.processInfo.activeProcessorCount, maxWaiting: Int = 32) {
        precondition(maxConcurrent >= 1 && maxWaiting >= 0, "PasswordHashingPool needs 1+ slots and 0+ waiters")
        self.maxConcurrent = maxConcurrent
        self.maxWaiting = maxWaiting
        queues = (0..<maxConcurrent).map { DispatchQueue(label: "switchboard.password-hashing.\($0)") }
        state = Mutex(State(free: Array((0..<maxConcurrent).reversed())))
    }

    /// Runs `work` (a hash or a verification) when a slot is free and returns its result.
    /// - Throws: ``Busy`` when `maxWaiting` requests already wait; `CancellationError` when the
    ///   task is cancelled while waiting; whatever `work` throws.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let slot = try await acquire()
        defer { release(slot) }
        let started = ContinuousClock.now
        let result = await withCheckedContinuation { continuation in
            queues[slot].async { continuation.resume(returning: Result { try work() }) }
        }
        let elapsed = (ContinuousClock.now - started).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        state.withLock { state in
            state.completed += 1
            state.averageSeconds = state.averageSeconds * 0.8 + seconds * 0.2
        }
        return try result.get()
    }

    package var statistics: Statistics {
        state.withLock {
            Statistics(
                running: maxConcurrent - $0.free.count, waiting: $0.waiting.count, completed: $0.completed,
                refused: $0.refused)
        }
    }

    /// A free slot, waiting for one if need be.
    private func acquire() async throws -> Int {
        enum Place { case slot(Int), queued(ticket: UInt64) }
        let place: Place = try state.withLock { state in
            if let slot = state.free.popLast() { return .slot(slot) }
            guard state.waiting.count < maxWaiting else {
                state.refused += 1
                let queued = Double(state.waiting.count + maxConcurrent)
                let wait = (queued * state.averageSeconds / Double(maxConcurrent)).rounded(.up)
                throw Busy(retryAfterSeconds: max(1, Int(wait)))
            }
            state.nextID += 1
            state.waiting.append(Waiter(id: state.nextID, continuation: nil))
            return .queued(ticket: state.nextID)
        }
        let ticket: UInt64
        switch place {
        case .slot(let slot): return slot
        case .queued(let queued): ticket = queued
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                state.withLock { state in
                    if let slot = state.granted.removeValue(forKey: ticket) {
                        continuation.resume(returning: slot)
                    } else if let index = state.waiting.firstIndex(where: { $0.id == ticket }) {
                        state.waiting[index].continuation = continuation
                    } else {
                        continuation.resume(throwing: CancellationError())
                    }
                }
            }
        } onCancel: {
            state.withLock { state in
                guard let index = state.waiting.firstIndex(where: { $0.id == ticket }) else { return }
                state.waiting.remove(at: index).continuation?.resume(throwing: CancellationError())
            }
        }
    }

    /// Hands the slot to the first waiter, or frees it.
    private func release(_ slot: Int) {
        state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.free.append(slot)
                return
            }
            let next = state.waiting.removeFirst()
            if let continuation = next.continuation {
                continuation.resume(returning: slot)
            } else {
                state.granted[next.id] = slot
            }
        }
    }
}
