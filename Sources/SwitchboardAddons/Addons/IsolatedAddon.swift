import Foundation
import Logging
import PluginAPI
import RunnerProtocol
import SwitchboardCore
import Synchronization

/// Operator settings for isolated add-ons.
public struct IsolationSettings: Sendable, Equatable {
    /// The runner executable; default: `switchboard-addon-runner` beside the daemon.
    public var runnerPath: String?
    /// Per add-on override of the manifest's `isolation` preference.
    public var overrides: [String: Manifest.Isolation] = [:]
    /// Address-space limit of each runner, MiB.
    public var addressSpaceMB = 2048
    /// CPU-time limit of each runner, seconds (0: none).
    public var cpuSeconds = 0
    public var openFiles = 256
    /// Time an asynchronous batch may take before the runner counts as hung.
    public var eventTimeoutMs = 10_000
    /// Failures within `failureWindowSeconds` that quarantine an add-on.
    public var maxFailures = 5
    public var failureWindowSeconds = 60
    public var quarantineSeconds = 300
    /// How often a quarantined add-on with a pre-send check (`message.submit`) is probed with a
    /// check that carries no customer data, seconds; it is back in service as soon as it answers
    /// one within its budget. 0: never probed, it waits out `quarantineSeconds`.
    public var quarantineProbeSeconds = 5
    /// How long a pre-send check reads its answer itself before it sleeps, and how long a runner
    /// keeps reading after answering before it sleeps; 0 always sleeps. Waking a sleeping thread
    /// costs tens of microseconds here, more than a check.
    public var spinMicroseconds = 50

    public init() {}
}

/// An add-on in its own runner process. A crash, hang, garbage or an oversized frame kills only the
/// runner: the request in flight fails (a check then follows the manifest's failure mode, events stay
/// in the outbox), the runner is restarted with exponential backoff, and after repeated failures the
/// add-on is quarantined for a while. The runner only ever receives mediated views.
///
/// Every decision (when to spawn, which request an answer completes, what a timeout or an exit
/// fails, backoff and quarantine) is `RunnerSupervisorStateMachine`'s; this class feeds it what
/// happens and does what it answers: spawning, sending, resuming callers, the sweep timer, logging.
///
/// The pre-send check and its retry are in `IsolatedAddon+Check.swift`, probing a quarantined add-on
/// in `IsolatedAddon+Probe.swift`; what they share is internal rather than private.
package final class IsolatedAddon: AddonEndpoint, @unchecked Sendable {
    // @unchecked: all mutable state lives in `supervisor`, behind its mutex.
    let manifest: Manifest
    let sha256: String
    var isolation: Manifest.Isolation { .isolated }
    private let setup: WireInit
    private let runnerPath: String
    let settings: IsolationSettings
    let logger: Logger
    /// The daemon's clock, which requests carry to the add-on (`now_ms`). Supervision runs on
    /// `ContinuousClock`, which wall-clock adjustments do not move.
    let clock: any WallClock
    private let onEmit: @Sendable (EmittedRecord) -> Bool
    /// Where runners are spawned, one at a time.
    let lifecycle: DispatchQueue

    typealias Supervisor = RunnerSupervisorStateMachine<
        RunnerConnection, CheckedContinuation<RunnerReply, Never>
    >
    let supervisor: Mutex<Supervisor>
    /// Fires `sweepExpired` while requests sleep; started by `request` when the supervisor says so,
    /// so no request keeps a timer of its own.
    private let sweep = DispatchSource.makeTimerSource(queue: .global())

    package init(
        manifest: Manifest, sha256: String, library: URL, stateDirectory: URL, config: [String: String],
        settings: IsolationSettings,
        runnerPath: String, logger: Logger, clock: any WallClock, onEmit: @escaping @Sendable (EmittedRecord) -> Bool
    ) throws {
        self.manifest = manifest
        self.sha256 = sha256
        self.settings = settings
        self.runnerPath = runnerPath
        self.logger = logger
        self.clock = clock
        self.onEmit = onEmit
        lifecycle = DispatchQueue(label: "switchboard.runner.\(manifest.id)")
        supervisor = Mutex(Supervisor(policy: RunnerSupervisionPolicy(settings)))
        try? FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        setup = WireInit(
            libraryPath: library.path, addonID: manifest.id, version: manifest.version,
            stateDirectory: stateDirectory.path,
            config: config.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        sweep.setEventHandler { [weak self] in self?.sweepExpired() }
        sweep.activate()
        // The first start is synchronous so that a library the runner refuses is reported like any
        // other load failure, before the daemon serves.
        if let failure = lifecycle.sync(execute: { spawnRunner(first: true) }) {
            throw AddonLoadError(file: manifest.file, reason: failure)
        }
    }

    // MARK: Lifecycle

    /// Spawns a runner, waits for READY and reports the outcome to the supervisor; returns why it
    /// failed, or nil. Runs on `lifecycle`. The `first` runner's failure is only returned: the
    /// add-on then does not load at all.
    func spawnRunner(first: Bool = false) -> String? {
        let arguments = [
            "--as-mb", String(settings.addressSpaceMB), "--cpu-seconds", String(settings.cpuSeconds), "--nofile",
            String(settings.openFiles), "--spin-us", String(settings.spinMicroseconds),
            // The runner refuses a library without the callback a hook needs, as the loader does.
            "--hooks", manifest.hooks.map(\.rawValue).joined(separator: ","),
        ]
        let runner: RunnerConnection
        do {
            runner = try RunnerConnection.open(
                executable: runnerPath, arguments: arguments, setup: setup, addonID: manifest.id, logger: logger)
        } catch {
            let reason = error.description
            if !first {
                let now = ContinuousClock.now
                perform(supervisor.withLock { $0.spawnFailed(reason: reason, now: now) }, reason: reason)
            }
            return reason
        }
        let action = supervisor.withLock { $0.spawnSucceeded(runner) }
        // Read even a runner that is stopped at once: its exit is seen and reaped there.
        Thread.detachNewThread { self.readLoop(runner) }
        switch action {
        case .serve: break
        case .stop(let stop): perform(stop)
        case .probe: Task { await self.probe(runner) }
        }
        return nil
    }

    /// Reads answers and notifications until the runner dies, then reports the death.
    private func readLoop(_ runner: RunnerConnection) {
        var reason = "closed its channel"
        let spin = Duration.microseconds(settings.spinMicroseconds)
        var idleSince = ContinuousClock.now
        reading: while true {
            // Like the runner, keep reading for `spin_us` after the last frame before sleeping:
            // under load the next answer is usually that close, and a wake-up costs more.
            if ContinuousClock.now - idleSince >= spin {
                runner.inbox.waitReadable()
            } else {
                sched_yield()
            }
            var handled = false
            let pumped = runner.inbox.pump(wait: true) { frame in
                handled = true
                handle(frame)
            }
            switch pumped {
            case .drained, .busy:
                if handled { idleSince = ContinuousClock.now }
                continue
            case .closed:
                break reading
            case .invalid(let why):
                reason = why
                runner.process.kill()
                break reading
            }
        }
        let ended = "the runner \(runner.process.reap()) (\(reason))"
        let now = ContinuousClock.now
        perform(supervisor.withLock { $0.runnerExited(runner, reason: ended, now: now) }, reason: ended)
    }

    private func handle(_ frame: Frame) {
        switch frame.type {
        case .eventResults, .eraseResult, .verdict:
            var reader = WireReader(frame.body)
            guard let id = try? reader.u64() else { return }
            if case .resume(let waiter, let answer) = supervisor.withLock({ $0.answerReceived(id: id, frame) }) {
                waiter.resume(returning: .answered(answer))
            }
        case .log:
            var reader = WireReader(frame.body)
            let level = (try? reader.u32()) ?? UInt32(SB_LOG_INFO)
            let text = (try? reader.string()) ?? ""
            // The same mapping as an add-on in the daemon's process (`HostBridge`).
            logger.logAddonLine(addonID: manifest.id, abiLevel: level, text)
        case .emit:
            if let record = try? Requests.readEmit(frame.body) {
                _ = onEmit(
                    EmittedRecord(
                        addonID: manifest.id, accountID: record.accountID, kind: record.kind, key: record.key,
                        json: record.json))
            }
        default:
            break
        }
    }

    /// Fails what the runner's end failed and tells the operator what follows (`reason`: how it ended).
    func perform(_ action: Supervisor.DownAction, reason: String) {
        switch action {
        case .none:
            return
        case .backOff(_, let seconds, let failing):
            for waiter in failing { waiter.resume(returning: .lost) }
            logger.error(
                "add-on runner failed; restarting",
                metadata: ["addon.id": "\(manifest.id)", "reason": "\(reason)", "backoff_s": "\(seconds)"])
        case .quarantine(_, let failing):
            for waiter in failing { waiter.resume(returning: .lost) }
            logger.error(
                "add-on quarantined after repeated failures",
                metadata: [
                    "addon.id": "\(manifest.id)", "reason": "\(reason)", "seconds": "\(settings.quarantineSeconds)",
                ])
            scheduleProbe()
        case .probeFailed(let failing):
            for waiter in failing { waiter.resume(returning: .lost) }
            logger.info(
                "quarantined add-on did not answer its probe; it stays quarantined",
                metadata: ["addon.id": "\(manifest.id)", "reason": "\(reason)"])
            scheduleProbe()
        case .stopped(let failing):
            for waiter in failing { waiter.resume(returning: .lost) }
            logger.info("add-on runner stopped", metadata: ["addon.id": "\(manifest.id)", "ended": "\(reason)"])
        }
    }

    func perform(_ action: Supervisor.StopAction) {
        switch action {
        case .none:
            break
        case .kill(let runner):
            runner.process.kill()
        case .endInput(let runner, let killAfter):
            runner.process.endInput()
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(killAfter.nanoseconds))) {
                runner.process.kill()
            }
        }
    }

    /// Runs `work` on `lifecycle` (after any spawn under way) and waits for it.
    private func onLifecycle(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { continuation in
            lifecycle.async {
                work()
                continuation.resume()
            }
        }
    }

    // MARK: Requests

    /// A new request's id and runner, with whether it is alone in flight; spawns the runner first
    /// when one is due. Nil while the add-on is unavailable (backing off, quarantined, stopped).
    private func submit() async -> (id: UInt64, runner: RunnerConnection, alone: Bool)? {
        while true {
            let now = ContinuousClock.now
            switch supervisor.withLock({ $0.submit(now: now) }) {
            case .send(let id, let runner, let alone):
                return (id, runner, alone)
            case .spawn:
                await onLifecycle { _ = self.spawnRunner() }
            case .awaitSpawn:
                await onLifecycle {}
            case .fail:
                return nil
            }
        }
    }

    /// A request written to a runner.
    struct Sent {
        let id: UInt64
        let runner: RunnerConnection
        /// Nothing else was in flight: its caller may read the answer itself.
        let alone: Bool
    }

    /// Writes a new request; nil when it was not written: the add-on is unavailable (backing off,
    /// quarantined, stopped), or the runner is going.
    func send(_ make: (UInt64, Int64) -> Frame) async -> Sent? {
        guard let (id, runner, alone) = await submit() else { return nil }
        guard runner.process.write(make(id, clock.now().epochMillis)) else {
            supervisor.withLock { $0.sendFailed(id: id) }
            return nil
        }
        return Sent(id: id, runner: runner, alone: alone)
    }

    /// Waits for the answer to `sent` within `timeoutMs`: `lost` when the runner died first,
    /// `timedOut` when it did not answer in time. With `killsOnTimeout` the runner is then killed
    /// as hung; without, the caller judges (`check`). With `spin`, a caller that is the only one
    /// waiting reads the answer itself for up to that long before it suspends. Requests do not wait
    /// for each other: several can be in flight to one runner (pipelining).
    func reply(
        to sent: Sent, timeoutMs: Int, spin: Duration = .zero, killsOnTimeout: Bool = true
    ) async -> RunnerReply {
        let (id, runner) = (sent.id, sent.runner)
        if sent.alone && spin > .zero {
            let deadline = ContinuousClock.now + spin
            repeat {
                switch supervisor.withLock({ $0.takeAnswer(id: id) }) {
                case .answered(let answer): return .answered(answer)
                case .failed: return .lost  // The runner died meanwhile.
                case .awaited: break
                }
                if case .invalid = runner.inbox.pump(wait: false, handle) { runner.process.kill() }
                // On a busy machine the runner may be waiting for this very core.
                sched_yield()
            } while ContinuousClock.now < deadline
        }
        return await withCheckedContinuation { continuation in
            let now = ContinuousClock.now
            let action = supervisor.withLock {
                $0.suspend(id: id, continuation, timeoutMs: timeoutMs, now: now, killsOnTimeout: killsOnTimeout)
            }
            switch action {
            case .resume(let answer): continuation.resume(returning: .answered(answer))
            case .fail: continuation.resume(returning: .lost)
            case .sleep(let startSweep): if startSweep { scheduleSweep() }
            }
        }
    }

    /// Sends one request and waits for its answer within `timeoutMs` (`send`, then `reply`):
    /// `notSent` when it was not written; a runner that does not answer in time is killed as hung.
    private func request(timeoutMs: Int, spin: Duration = .zero, _ make: (UInt64, Int64) -> Frame) async
        -> RunnerReply
    {
        guard let sent = await send(make) else { return .notSent }
        return await reply(to: sent, timeoutMs: timeoutMs, spin: spin)
    }

    /// How often sleeping requests are checked against their deadlines while any sleep. One timer
    /// per add-on rather than one per request: thousands of live dispatch timers a second cost more
    /// than the checks they guarded.
    private static let sweepInterval = DispatchTimeInterval.milliseconds(5)

    private func scheduleSweep() {
        sweep.schedule(deadline: .now() + Self.sweepInterval, leeway: Self.sweepInterval)
    }

    /// Fails the requests whose time is up and kills the runner as hung; runs on the sweep's timer.
    private func sweepExpired() {
        let now = ContinuousClock.now
        switch supervisor.withLock({ $0.sweep(now: now) }) {
        case .wait(let again):
            if again { scheduleSweep() }
        case .timedOut(let failing, let again):
            // Their callers judge the runner (`check`); it stays in service meanwhile.
            if again { scheduleSweep() }
            for waiter in failing { waiter.resume(returning: .timedOut) }
        case .expire(let failing, let timeoutMs, let hung, let again):
            if again { scheduleSweep() }
            logger.error(
                "add-on did not answer in time; killing its runner",
                metadata: ["addon.id": "\(manifest.id)", "timeout_ms": "\(timeoutMs)"])
            for waiter in failing { waiter.resume(returning: .timedOut) }
            hung?.process.kill()
        }
    }

    // MARK: AddonEndpoint

    package func deliver(_ work: [OutboxWorker.Work]) async -> Delivery {
        var codes: [Int32] = []
        var index = 0
        while index < work.count {
            if case .erase(_, let accountID, let order, let pseudonym) = work[index] {
                let subject = Requests.Subject(
                    kind: order.subjectKind.abiKind, accountID: accountID, value: order.value,
                    pseudonym: pseudonym)
                let reply = await request(
                    timeoutMs: settings.eventTimeoutMs, { Requests.erase(id: $0, now: $1, subject) })
                guard case .answered(let answer) = reply, let code = try? Requests.readCodes(answer.body).codes.first
                else { return Delivery(codes: codes, unanswered: reply.wasWritten ? 1 : 0) }
                codes.append(code)
                if code == SB_RETRY { return Delivery(codes: codes) }
                index += 1
                continue
            }
            // Consecutive events travel in one frame: one round trip for the batch.
            var events: [WireEvent] = []
            while index + events.count < work.count, case .event(_, let view, _) = work[index + events.count] {
                events.append(view.wire)
            }
            let reply = await request(
                timeoutMs: settings.eventTimeoutMs, { Requests.events(id: $0, now: $1, events) })
            guard case .answered(let answer) = reply, let results = try? Requests.readCodes(answer.body).codes else {
                // The runner had the whole frame: it may have read every event in it before it went.
                return Delivery(codes: codes, unanswered: reply.wasWritten ? events.count : 0)
            }
            let answered = results.prefix(events.count)
            codes += answered
            if answered.count < events.count || answered.last == SB_RETRY {
                // Events the runner did not answer for were in the frame all the same.
                let unanswered = answered.last == SB_RETRY ? 0 : events.count - answered.count
                return Delivery(codes: codes, unanswered: unanswered)
            }
            index += events.count
        }
        return Delivery(codes: codes)
    }

    /// Why requests fail now, for a caller's message.
    var unavailableReason: String {
        supervisor.withLock { $0.unavailableReason } ?? "no answer within \(manifest.syncTimeoutMs) ms"
    }

    package func status() -> AddonRuntimeStatus {
        let now = ContinuousClock.now
        let wallNow = clock.now()
        let (status, until) = supervisor.withLock { machine in
            var status = AddonRuntimeStatus(
                state: machine.runtimeState(now: now), pid: machine.runner?.process.pid,
                restarts: machine.restarts, crashes: machine.crashes, timeouts: machine.timeouts,
                lastFailure: machine.lastFailure, quarantinedUntil: nil)
            status.hostSlowTimeouts = machine.hostSlowTimeouts
            status.checkRetries = machine.checkRetries
            return (status, machine.quarantinedUntil(now: now))
        }
        guard let until else { return status }
        // The same moment on the daemon's clock, which operators read.
        let left = until - now
        var quarantined = status
        quarantined.quarantinedUntil = Timestamp.string(
            wallNow.addingTimeInterval(Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18))
        return quarantined
    }

    /// Stops the runner for good (daemon shutdown).
    package func stop() {
        perform(supervisor.withLock { $0.stop(graceful: false) })
    }

    /// Lets the runner end on its own: it sees the end of its input, calls the add-on's `destroy`
    /// and exits. One that takes longer than a few seconds is killed.
    func shutdown() {
        perform(supervisor.withLock { $0.stop(graceful: true) })
    }
}

extension AddonView {
    /// The view in the runner protocol's shape (the same as `sb_event`).
    var wire: WireEvent {
        WireEvent(
            type: type.abiCode, typeName: type.rawValue, eventID: eventID, accountID: accountID, timeMs: timeMs,
            fields: fields.map { field in
                switch field.value {
                case .int(let value):
                    WireField(id: field.id, kind: field.abiKind.code, bytes: [], intValue: value)
                case .text(let text):
                    WireField(id: field.id, kind: field.abiKind.code, bytes: Array(text.utf8), intValue: 0)
                }
            })
    }
}
