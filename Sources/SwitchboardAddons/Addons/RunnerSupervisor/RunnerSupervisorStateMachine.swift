import RunnerProtocol

/// The decisions of one isolated add-on's supervisor, without I/O: each input is a `mutating func`
/// that returns what to do, as SwiftNIO writes its protocol state machines. Nothing here spawns,
/// sends, sleeps or reads a clock; the owner (`IsolatedAddon`) passes the time in (`now`, from
/// `ContinuousClock`), performs the actions, and keeps the machine behind one lock, so a decision
/// and its bookkeeping are one step.
///
/// A runner's life: `spawning`, then `running` (ready while nothing is pending, in flight
/// otherwise). A request that outlives its budget gets the runner killed as hung (`killed`). When the
/// runner exits, whatever is pending fails and the add-on backs off (`backoff`), or after
/// `maxFailures` failures within the window is quarantined (`quarantined`). Restarts are lazy: the
/// first request at or after the restart time spawns the next runner, so an add-on that is not called
/// is not restarted.
///
/// `Runner` names one live runner (the owner's process and socket; a string in tests); `Waiter` is
/// what a sleeping request is resumed through (a continuation; a number in tests).
package struct RunnerSupervisorStateMachine<Runner: Equatable, Waiter> {
    package typealias Instant = ContinuousClock.Instant

    package enum State: Equatable {
        /// A runner is being spawned and initialised; other callers wait for the outcome.
        case spawning
        /// The runner serves requests: ready while none is pending, in flight otherwise.
        case running(Runner)
        /// The runner was killed as hung; nothing more is sent to it, its exit is awaited.
        case killed(Runner)
        /// The runner failed; the first request at or after `restartAt` spawns another.
        case backoff(restartAt: Instant)
        /// Repeated failures: requests fail at once until `until`; the first one at or after
        /// `restartAt` (the later of `until` and the backoff) spawns a runner.
        case quarantined(until: Instant, restartAt: Instant)
        /// Stop was asked for; the runner (nil while its spawn is under way) is ending. `graceful`:
        /// it may finish what it has (after a reload) rather than be killed (daemon shutdown).
        case stopping(Runner?, graceful: Bool)
        /// Out of service for good.
        case stopped
    }

    package private(set) var state: State = .spawning
    /// Requests sent to the current runner and not yet answered or failed.
    private var requests = RunnerRequests<Waiter>()
    /// When the failures still inside the window happened.
    private var failures: [Instant] = []
    /// Whether the deadline sweep is scheduled; only the input that sets it asks for the timer.
    private var sweepScheduled = false
    /// Whether a runner came up before: the next one counts as a restart.
    private var hasRun = false
    /// Runners spawned after a failure.
    package private(set) var restarts = 0
    /// Runners that exited without being asked to (killed as hung included).
    package private(set) var crashes = 0
    /// Requests failed because they outlived their budget.
    package private(set) var timeouts = 0
    /// Why the last runner failed or could not be spawned.
    package private(set) var lastFailure: String?
    let policy: RunnerSupervisionPolicy

    /// Starts in `spawning`: the owner spawns the first runner at once.
    package init(policy: RunnerSupervisionPolicy) {
        self.policy = policy
    }

    /// Requests sent and not yet answered or failed (0: ready).
    package var inFlight: Int { requests.count }

    // MARK: The runner's life

    /// What to do with a runner that just answered READY.
    package enum SpawnAction: Equatable {
        /// Serve requests with it.
        case serve
        /// Stop was asked for while it started: stop it at once (its exit is still reported).
        case stop(StopAction)
    }

    /// What to do when a runner is asked to stop.
    package enum StopAction: Equatable {
        /// Nothing runs, or it is already being stopped.
        case none
        case kill(Runner)
        /// Close its input so it finishes, calls the add-on's `destroy` and exits; kill it if it is
        /// still there after `killAfter`.
        case endInput(Runner, killAfter: Duration)
    }

    /// What to do when the runner is down: fail `failing` (the sleeping requests, in the order they
    /// were sent) in every case.
    package enum DownAction {
        /// The exit was of an earlier runner, already accounted for.
        case none
        /// The next request at or after `until` (`seconds` from now) spawns a runner.
        case backOff(until: Instant, seconds: Double, failing: [Waiter])
        /// Repeated failures: the add-on is quarantined until `until`.
        case quarantine(until: Instant, failing: [Waiter])
        /// The runner stopped as asked; nothing follows.
        case stopped(failing: [Waiter])
    }

    /// A runner was spawned and answered READY.
    /// - Precondition: the last action asked for a spawn (the state is `spawning`, or `stopping`
    ///   with no runner).
    package mutating func spawnSucceeded(_ runner: Runner) -> SpawnAction {
        switch state {
        case .spawning:
            if hasRun { restarts += 1 }
            hasRun = true
            state = .running(runner)
            return .serve
        case .stopping(nil, let graceful):
            state = .stopping(runner, graceful: graceful)
            return .stop(graceful ? .endInput(runner, killAfter: policy.stopGracePeriod) : .kill(runner))
        default:
            preconditionFailure("a runner was spawned in state \(state)")
        }
    }

    /// The runner could not be spawned or did not initialise (`reason`, at `now`): a failure like a
    /// crash, except that it is not counted as one.
    /// - Precondition: as for `spawnSucceeded`.
    package mutating func spawnFailed(reason: String, now: Instant) -> DownAction {
        switch state {
        case .spawning:
            return failed(reason, now: now, failing: [])
        case .stopping(nil, _):
            state = .stopped
            return .stopped(failing: [])
        default:
            preconditionFailure("a runner failed to spawn in state \(state)")
        }
    }

    /// `runner` exited (`reason`: how, for operators) at `now`. Everything pending fails.
    package mutating func runnerExited(_ runner: Runner, reason: String, now: Instant) -> DownAction {
        switch state {
        case .running(let current) where current == runner, .killed(let current) where current == runner:
            crashes += 1
            let failing = requests.removeAll()
            return failed(reason, now: now, failing: failing)
        case .stopping(let current?, _) where current == runner:
            state = .stopped
            return .stopped(failing: requests.removeAll())
        default:
            return .none
        }
    }

    /// Stop for good: `graceful` lets the runner finish what it has (a version retired by a reload),
    /// otherwise it is killed (daemon shutdown). Requests still pending fail when it exits.
    package mutating func stop(graceful: Bool) -> StopAction {
        switch state {
        case .running(let runner):
            state = .stopping(runner, graceful: graceful)
            return graceful ? .endInput(runner, killAfter: policy.stopGracePeriod) : .kill(runner)
        case .killed(let runner):
            state = .stopping(runner, graceful: false)
            return .kill(runner)
        case .stopping(let runner?, _):
            // A shutdown after a graceful stop does not wait for the grace period.
            guard !graceful else { return .none }
            state = .stopping(runner, graceful: false)
            return .kill(runner)
        case .stopping(nil, let wasGraceful):
            state = .stopping(nil, graceful: wasGraceful && graceful)
            return .none
        case .spawning:
            state = .stopping(nil, graceful: graceful)
            return .none
        case .backoff, .quarantined, .stopped:
            state = .stopped
            return .none
        }
    }

    /// Records a failure at `now` and decides between backoff and quarantine.
    private mutating func failed(_ reason: String, now: Instant, failing: [Waiter]) -> DownAction {
        lastFailure = reason
        let window = policy.failureWindow
        failures.removeAll { now - $0 >= window }
        failures.append(now)
        let seconds = RunnerSupervisionPolicy.backoffSeconds(afterFailures: failures.count)
        let restartAt = now + .seconds(seconds)
        guard failures.count < policy.maxFailures else {
            let until = now + policy.quarantine
            state = .quarantined(until: until, restartAt: max(until, restartAt))
            return .quarantine(until: until, failing: failing)
        }
        state = .backoff(restartAt: restartAt)
        return .backOff(until: restartAt, seconds: seconds, failing: failing)
    }

    // MARK: Requests

    /// What to do with a new request.
    package enum SubmitAction: Equatable {
        /// Send it as request `id` to `runner`. `alone`: nothing else is in flight, so its caller may
        /// read the answer itself.
        case send(id: UInt64, to: Runner, alone: Bool)
        /// Spawn a runner (only this caller is told), report the outcome, then submit again.
        case spawn
        /// Another caller is spawning a runner: wait for the outcome, then submit again.
        case awaitSpawn
        /// Fail at once: backing off, quarantined, the runner is being killed, or stopped.
        case fail
    }

    /// A caller has a request at `now`.
    package mutating func submit(now: Instant) -> SubmitAction {
        switch state {
        case .running(let runner):
            let id = requests.add()
            return .send(id: id, to: runner, alone: requests.count == 1)
        case .spawning:
            return .awaitSpawn
        case .backoff(let restartAt), .quarantined(_, let restartAt):
            guard now >= restartAt else { return .fail }
            state = .spawning
            return .spawn
        case .killed, .stopping, .stopped:
            return .fail
        }
    }

    /// Request `id` could not be written: the runner is going, and its exit follows.
    package mutating func sendFailed(id: UInt64) {
        requests.remove(id)
    }

    /// What to do with an answer from the runner.
    package enum AnswerAction {
        /// Nothing: its caller is reading and takes it, or nobody waits for it any more.
        case none
        /// Resume the sleeping caller with the answer.
        case resume(Waiter, Frame)
    }

    /// The runner answered request `id` with `frame`.
    package mutating func answerReceived(id: UInt64, _ frame: Frame) -> AnswerAction {
        guard let waiter = requests.answer(id, frame) else { return .none }
        return .resume(waiter, frame)
    }

    /// The caller of `id`, reading the socket itself, looks for its answer.
    package mutating func takeAnswer(id: UInt64) -> RunnerRequests<Waiter>.Taken {
        requests.take(id)
    }

    /// What to do with a caller that stops reading and sleeps.
    package enum SuspendAction: Equatable {
        /// Resume it at once with the answer that arrived meanwhile.
        case resume(Frame)
        /// Resume it at once with failure: the runner exited meanwhile.
        case fail
        /// It sleeps; start the sweep timer when `startSweep` (the timer was idle).
        case sleep(startSweep: Bool)
    }

    /// The caller of `id` sleeps through `waiter` from `now`, for at most `timeoutMs` (ms).
    package mutating func suspend(id: UInt64, _ waiter: Waiter, timeoutMs: Int, now: Instant) -> SuspendAction {
        switch requests.suspend(id, waiter, deadline: now + .milliseconds(timeoutMs), timeoutMs: timeoutMs) {
        case .answered(let frame):
            return .resume(frame)
        case .failed:
            return .fail
        case .suspended:
            defer { sweepScheduled = true }
            return .sleep(startSweep: !sweepScheduled)
        }
    }

    /// What to do after a deadline sweep.
    package enum SweepAction {
        /// Nothing ran out of time; sweep again after the interval when `sweepAgain`.
        case wait(sweepAgain: Bool)
        /// Requests outlived their budget (`timeoutMs`, the first one's): fail `failing` (in the
        /// order they were sent), kill `killAsHung` (nil: its exit was seen already); sweep again
        /// when `sweepAgain`.
        case expire(failing: [Waiter], timeoutMs: Int, killAsHung: Runner?, sweepAgain: Bool)
    }

    /// The sweep timer fired at `now`: requests past their deadline fail, and their runner, which
    /// did not answer within the budget, counts as hung.
    package mutating func sweep(now: Instant) -> SweepAction {
        let (expired, waiting) = requests.expire(now: now)
        sweepScheduled = waiting
        guard let first = expired.first else { return .wait(sweepAgain: waiting) }
        timeouts += expired.count
        let hung: Runner?
        switch state {
        case .running(let runner), .killed(let runner):
            state = .killed(runner)
            hung = runner
        case .stopping(let runner?, _):
            hung = runner
        default:
            hung = nil
        }
        return .expire(
            failing: expired.map(\.waiter), timeoutMs: first.timeoutMs, killAsHung: hung, sweepAgain: waiting)
    }
}

extension RunnerSupervisorStateMachine: Sendable where Runner: Sendable, Waiter: Sendable {}
extension RunnerSupervisorStateMachine.State: Sendable where Runner: Sendable {}
extension RunnerSupervisorStateMachine.DownAction: Equatable where Waiter: Equatable {}
extension RunnerSupervisorStateMachine.AnswerAction: Equatable where Waiter: Equatable {}
extension RunnerSupervisorStateMachine.SweepAction: Equatable where Waiter: Equatable {}
