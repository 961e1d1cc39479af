import RunnerProtocol

/// The requests in flight to one runner, by id, with their deadlines: the part of the supervisor's
/// state that every request changes. One dictionary whose storage is kept across requests, so a
/// check costs no allocation here.
package struct RunnerRequests<Waiter> {
    /// A request sent to the runner, until its answer is taken or it fails.
    enum Request {
        /// Its caller is reading the socket itself for a few microseconds (see `RunnerInbox`).
        case reading
        /// The answer arrived while its caller was reading; the caller takes it.
        case answered(Frame)
        /// Its caller sleeps until the answer, the runner's exit or `deadline`; `timeoutMs` is its
        /// budget. `killsOnTimeout`: running out of time makes the runner count as hung; otherwise
        /// the caller is told and judges (a check is retried once, see `IsolatedAddon.check`).
        case suspended(Waiter, deadline: ContinuousClock.Instant, timeoutMs: Int, killsOnTimeout: Bool)
    }

    /// Where a request stands for a caller that reads its own answer.
    package enum Taken: Equatable {
        case answered(Frame)
        /// Still awaited.
        case awaited
        /// Gone: the runner exited, so the request failed.
        case failed
    }

    /// What became of a request whose caller is about to sleep.
    enum Parked: Equatable {
        /// Its answer arrived meanwhile.
        case answered(Frame)
        /// It failed meanwhile (the runner exited).
        case failed
        /// It waits, with its deadline.
        case suspended
    }

    private var table: [UInt64: Request] = [:]
    private var nextID: UInt64 = 1

    /// Requests sent and not yet answered or failed.
    var count: Int { table.count }

    /// Registers a request whose caller reads its own answer at first; returns its id.
    mutating func add() -> UInt64 {
        let id = nextID
        nextID += 1
        table[id] = .reading
        return id
    }

    /// Forgets a request that could not be sent.
    mutating func remove(_ id: UInt64) {
        table[id] = nil
    }

    /// Records `frame` as the answer to `id`; returns the waiter to resume when its caller sleeps.
    /// A late answer (to a request that timed out) or a duplicate is dropped: the runner is not
    /// trusted with ids.
    mutating func answer(_ id: UInt64, _ frame: Frame) -> Waiter? {
        switch table[id] {
        case .reading:
            table[id] = .answered(frame)
            return nil
        case .suspended(let waiter, _, _, _):
            table[id] = nil
            return waiter
        case .answered, nil:
            return nil
        }
    }

    /// The answer to `id` if it is in (the request is then done).
    mutating func take(_ id: UInt64) -> Taken {
        switch table[id] {
        case .answered(let frame):
            table[id] = nil
            return .answered(frame)
        case .reading:
            return .awaited
        case .suspended, nil:
            return .failed
        }
    }

    /// Puts the caller of `id` to sleep with `waiter` until `deadline`, unless the request is
    /// already done.
    mutating func suspend(
        _ id: UInt64, _ waiter: Waiter, deadline: ContinuousClock.Instant, timeoutMs: Int, killsOnTimeout: Bool
    ) -> Parked {
        switch table[id] {
        case .answered(let frame):
            table[id] = nil
            return .answered(frame)
        case .reading:
            table[id] = .suspended(waiter, deadline: deadline, timeoutMs: timeoutMs, killsOnTimeout: killsOnTimeout)
            return .suspended
        case .suspended, nil:
            return .failed
        }
    }

    /// A sleeping request whose deadline passed.
    struct Expired {
        var waiter: Waiter
        /// Its budget, ms.
        var timeoutMs: Int
        var killsOnTimeout: Bool
    }

    /// Removes the sleeping requests whose deadline is at or before `now`; returns them in the
    /// order they were sent, and whether others still sleep.
    mutating func expire(now: ContinuousClock.Instant) -> (expired: [Expired], waiting: Bool) {
        var ids: [UInt64] = []
        var waiting = false
        for (id, request) in table {
            guard case .suspended(_, let deadline, _, _) = request else { continue }
            if deadline <= now { ids.append(id) } else { waiting = true }
        }
        // Removed after the loop: removing while iterating would copy the whole table.
        let expired = ids.sorted().compactMap { id -> Expired? in
            guard case .suspended(let waiter, _, let timeoutMs, let kills) = table.removeValue(forKey: id) else {
                return nil
            }
            return Expired(waiter: waiter, timeoutMs: timeoutMs, killsOnTimeout: kills)
        }
        return (expired, waiting)
    }

    /// Empties the table; returns the sleeping requests' waiters in the order they were sent.
    /// Callers still reading find their request gone and fail themselves.
    mutating func removeAll() -> [Waiter] {
        let waiters = table.sorted { $0.key < $1.key }.compactMap { entry -> Waiter? in
            if case .suspended(let waiter, _, _, _) = entry.value { waiter } else { nil }
        }
        table.removeAll(keepingCapacity: true)
        return waiters
    }
}

extension RunnerRequests: Sendable where Waiter: Sendable {}
extension RunnerRequests.Request: Sendable where Waiter: Sendable {}
extension RunnerRequests.Expired: Sendable where Waiter: Sendable {}
