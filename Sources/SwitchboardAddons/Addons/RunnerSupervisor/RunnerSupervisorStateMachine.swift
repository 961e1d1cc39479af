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
/// is not restarted. A quarantined add-on can be probed (`probeDue`): a runner is spawned and sent a
/// check that carries no customer data; if it answers, the add-on is back in service before the
/// quarantine ends (`probing`).
///
/// A request can leave its timeout to its caller (`killsOnTimeout: false`): the sweep then only
/// tells the caller, who retries a check once and then reports the runner hung (`checkHung`) or
/// the host slow (`hostWasSlow`), see `CheckTimeout`.
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
        /// Quarantined, and a runner (nil while it is being spawned) is being probed: requests still
        /// fail at once; the probe's answer brings it into service (`probePassed`), anything else
        /// ends it and the quarantine goes on.
        case probing(Runner?, until: Instant, restartAt: Instant)
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
    /// When a probe last put the add-on back in service, until its next quarantine.
    private var backByProbeAt: Instant?
    /// Quarantines in a row that followed a passed probe within the failure window: an add-on whose
    /// check answers but whose events crash it. Each one doubles the wait for the next probe.
    package private(set) var relapses = 0
    /// Runners that exited without being asked to (killed as hung included).
    package private(set) var crashes = 0
    /// Requests that outlived their budget and counted against the add-on (a check: after its retry
    /// also timed out, while the host was not the cause).
    package private(set) var timeouts = 0
    /// Checks whose retry also timed out while the host was overloaded (`CheckTimeout`); they do
    /// not count against the add-on.
    package private(set) var hostSlowTimeouts = 0
    /// Checks sent again after their first attempt timed out.
    package private(set) var checkRetries = 0
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
        /// It is a quarantined add-on's probe: send it the probe (`submitProbe`).
        case probe
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
        /// A quarantined add-on's probe failed; the quarantine goes on (probe again later).
        case probeFailed(failing: [Waiter])
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
        case .probing(nil, let until, let restartAt):
            state = .probing(runner, until: until, restartAt: restartAt)
            return .probe
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
        case .probing(nil, let until, let restartAt):
            lastFailure = reason
            state = .quarantined(until: until, restartAt: restartAt)
            return .probeFailed(failing: [])
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
        case .probing(let current?, let until, let restartAt) where current == runner:
            // A probe that fails is what quarantine expects: not counted as a crash or a failure.
            lastFailure = reason
            state = .quarantined(until: until, restartAt: restartAt)
            return .probeFailed(failing: requests.removeAll())
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
        case .spawning, .probing(nil, _, _):
            state = .stopping(nil, graceful: graceful)
            return .none
        case .probing(let runner?, _, _):
            state = .stopping(runner, graceful: false)
            return .kill(runner)
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
            if let back = backByProbeAt, now - back < window { relapses += 1 } else { relapses = 0 }
            backByProbeAt = nil
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
        case .killed, .probing, .stopping, .stopped:
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

    /// The caller of `id` sleeps through `waiter` from `now`, for at most `timeoutMs` (ms). With
    /// `killsOnTimeout` false, running out of time only tells the caller (`SweepAction.timedOut`),
    /// who then judges the runner (`checkHung`, `hostWasSlow`).
    package mutating func suspend(
        id: UInt64, _ waiter: Waiter, timeoutMs: Int, now: Instant, killsOnTimeout: Bool = true
    ) -> SuspendAction {
        switch requests.suspend(
            id, waiter, deadline: now + .milliseconds(timeoutMs), timeoutMs: timeoutMs, killsOnTimeout: killsOnTimeout)
        {
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
        /// Requests outlived their budget (`timeoutMs`, the first one's that kills on timeout): fail
        /// `failing` (every request that ran out of time, in the order they were sent), kill
        /// `killAsHung` (nil: its exit was seen already); sweep again when `sweepAgain`.
        case expire(failing: [Waiter], timeoutMs: Int, killAsHung: Runner?, sweepAgain: Bool)
        /// Only requests whose callers judge a timeout themselves ran out of time: tell them; the
        /// runner stays in service. Sweep again when `sweepAgain`.
        case timedOut(failing: [Waiter], sweepAgain: Bool)
    }

    /// The sweep timer fired at `now`: requests past their deadline fail, and their runner, which
    /// did not answer within the budget, counts as hung.
    package mutating func sweep(now: Instant) -> SweepAction {
        let (expired, waiting) = requests.expire(now: now)
        sweepScheduled = waiting
        guard !expired.isEmpty else { return .wait(sweepAgain: waiting) }
        let fatal = expired.filter(\.killsOnTimeout)
        guard let first = fatal.first else {
            return .timedOut(failing: expired.map(\.waiter), sweepAgain: waiting)
        }
        let hung: Runner?
        switch state {
        case .running(let runner), .killed(let runner):
            timeouts += fatal.count
            state = .killed(runner)
            hung = runner
        case .stopping(let runner?, _):
            timeouts += fatal.count
            hung = runner
        case .probing(let runner?, _, _):
            // A probe that does not answer in time failed; its runner's exit ends the probe.
            hung = runner
        default:
            timeouts += fatal.count
            hung = nil
        }
        return .expire(
            failing: expired.map(\.waiter), timeoutMs: first.timeoutMs, killAsHung: hung, sweepAgain: waiting)
    }

    // MARK: Check timeouts

    /// A check that had timed out is sent again.
    package mutating func checkRetried() {
        checkRetries += 1
    }

    /// A check's retry timed out too, and the add-on is to blame: `runner`, if still serving, is
    /// killed as hung (its exit then counts as a failure, towards quarantine).
    package mutating func checkHung(_ runner: Runner) -> StopAction {
        timeouts += 1
        guard case .running(let current) = state, current == runner else { return .none }
        state = .killed(runner)
        return .kill(runner)
    }

    /// A check's retry timed out too, but the host was overloaded (`CheckTimeout`): counted apart,
    /// not against the add-on, and its runner stays in service.
    package mutating func hostWasSlow() {
        hostSlowTimeouts += 1
    }

    // MARK: Probing a quarantined add-on

    /// The probe timer fired at `now`: true when a probe runner should be spawned now (the add-on
    /// is quarantined and the quarantine has not run out; once it has, the next request restarts
    /// the add-on anyway). The spawn's outcome is reported like any other (`spawnSucceeded`,
    /// `spawnFailed`).
    package mutating func probeDue(now: Instant) -> Bool {
        guard case .quarantined(let until, let restartAt) = state, now < until else { return false }
        state = .probing(nil, until: until, restartAt: restartAt)
        return true
    }

    /// The probe request to send to the probe runner: its id and runner; nil when no probe runner
    /// is up (it exited, or stop was asked for).
    package mutating func submitProbe() -> (id: UInt64, runner: Runner)? {
        guard case .probing(let runner?, _, _) = state else { return nil }
        return (requests.add(), runner)
    }

    /// `runner` answered the probe within its budget with a valid verdict: it serves from now on.
    /// False when it is no longer the probe runner (stop was asked for meanwhile).
    package mutating func probePassed(_ runner: Runner, now: Instant) -> Bool {
        guard case .probing(let current?, _, _) = state, current == runner else { return false }
        backByProbeAt = now
        restarts += 1
        hasRun = true
        state = .running(runner)
        return true
    }

    /// The wait before the next probe: `base` (`quarantine_probe_seconds`), doubled for each relapse
    /// (a quarantine soon after a passed probe), at most `cap`. A probe only shows that the check
    /// answers; an add-on that crashes on its events passes it and fails again, and without the
    /// doubling it would be put back, and crash, every `base`.
    package func probeDelay(base: Duration, cap: Duration) -> Duration {
        min(base * (1 << min(relapses, 16)), max(base, cap))
    }

    /// `runner` answered the probe, but not with a valid verdict: kill it; its exit ends the probe.
    package mutating func probeRejected(_ runner: Runner) -> StopAction {
        guard case .probing(let current?, _, _) = state, current == runner else { return .none }
        return .kill(runner)
    }
}

extension RunnerSupervisorStateMachine: Sendable where Runner: Sendable, Waiter: Sendable {}
extension RunnerSupervisorStateMachine.State: Sendable where Runner: Sendable {}
extension RunnerSupervisorStateMachine.DownAction: Equatable where Waiter: Equatable {}
extension RunnerSupervisorStateMachine.AnswerAction: Equatable where Waiter: Equatable {}
extension RunnerSupervisorStateMachine.SweepAction: Equatable where Waiter: Equatable {}
