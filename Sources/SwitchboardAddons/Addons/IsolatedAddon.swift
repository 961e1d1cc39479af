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
package final class IsolatedAddon: AddonEndpoint, @unchecked Sendable {
    // @unchecked: all mutable state lives in `state`, behind its mutex.
    let manifest: Manifest
    let sha256: String
    var isolation: Manifest.Isolation { .isolated }
    private let setup: WireInit
    private let runnerPath: String
    private let settings: IsolationSettings
    private let logger: Logger
    private let clock: any WallClock
    private let onEmit: @Sendable (EmittedRecord) -> Bool
    private let lifecycle: DispatchQueue

    /// A request sent to the runner, until its answer is taken.
    private enum Waiter {
        /// Its caller is reading the socket itself for a few microseconds (see `RunnerInbox`).
        case waiting
        case answered(Frame)
        case suspended(CheckedContinuation<Frame?, Never>, deadline: ContinuousClock.Instant, timeoutMs: Int)
    }

    private struct State {
        var process: RunnerProcess?
        var inbox: RunnerInbox?
        var pending: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 1
        var failures: [Date] = []
        var restartAt: Date?
        var quarantinedUntil: Date?
        var lastFailure: String?
        var restarts = 0
        var crashes = 0
        var timeouts = 0
        var stopping = false
        /// Whether the timeout sweep is scheduled; only whoever sets it schedules `sweep`.
        var sweeping = false
    }

    private let state = Mutex(State())
    /// Fires `sweepExpired` while requests wait; scheduled by `request`, which keeps no timer of its own.
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
        try? FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        setup = WireInit(
            libraryPath: library.path, addonID: manifest.id, version: manifest.version,
            stateDirectory: stateDirectory.path,
            config: config.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        sweep.setEventHandler { [weak self] in self?.sweepExpired() }
        sweep.activate()
        // The first start is synchronous so that a library the runner refuses is reported like any
        // other load failure, before the daemon serves.
        if let failure = lifecycle.sync(execute: { start() }) {
            throw AddonLoadError(file: manifest.file, reason: failure)
        }
    }

    // MARK: Lifecycle

    /// Spawns the runner and waits for READY; returns why not, or nil. Runs on `lifecycle`.
    private func start() -> String? {
        let arguments = [
            "--as-mb", String(settings.addressSpaceMB), "--cpu-seconds", String(settings.cpuSeconds), "--nofile",
            String(settings.openFiles), "--spin-us", String(settings.spinMicroseconds),
        ]
        let process: RunnerProcess
        do {
            process = try RunnerProcess.spawn(
                executable: runnerPath, arguments: arguments, addonID: manifest.id, logger: logger)
        } catch {
            return "\(error)"
        }
        guard process.write(Frame(.initialize, setup.encoded())) else {
            process.kill()
            return "the runner \(process.reap()) before it could be initialised"
        }
        var decoder = FrameDecoder()
        switch Self.readHandshake(process.socket, &decoder, timeoutMs: 10_000) {
        case .ready:
            let inbox = RunnerInbox(socket: process.socket, decoder: decoder)
            state.withLock {
                $0.process = process
                $0.inbox = inbox
            }
            Thread.detachNewThread { self.readLoop(process, inbox: inbox) }
            return nil
        case .failed(let reason):
            _ = process.reap()
            return reason
        case .broken(let reason):
            process.kill()
            return "\(reason); the runner \(process.reap())"
        }
    }

    private enum Handshake {
        case ready, failed(String), broken(String)
    }

    private static func readHandshake(_ fd: Int32, _ decoder: inout FrameDecoder, timeoutMs: Int32) -> Handshake {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            do {
                if let frame = try decoder.next() {
                    switch frame.type {
                    case .ready: return .ready
                    case .failed: return .failed(String(decoding: frame.body, as: UTF8.self))
                    case .log: continue
                    default: return .broken("the runner answered \(frame.type) before READY")
                    }
                }
            } catch {
                return .broken("the runner sent garbage: \(error)")
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, timeoutMs)
            if ready == 0 { return .broken("no answer from the runner within \(timeoutMs) ms") }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return .broken("the runner closed its channel") }
            decoder.append(buffer[0..<count])
        }
    }

    /// Reads answers and notifications until the runner dies, then reports the death.
    private func readLoop(_ process: RunnerProcess, inbox: RunnerInbox) {
        var reason = "closed its channel"
        let spin = Duration.microseconds(settings.spinMicroseconds)
        var idleSince = ContinuousClock.now
        reading: while true {
            // Like the runner, keep reading for `spin_us` after the last frame before sleeping:
            // under load the next answer is usually that close, and a wake-up costs more.
            if ContinuousClock.now - idleSince >= spin {
                inbox.waitReadable()
            } else {
                sched_yield()
            }
            var handled = false
            let pumped = inbox.pump(wait: true) { frame in
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
                process.kill()
                break reading
            }
        }
        let ended = process.reap()
        died(process, reason: "the runner \(ended) (\(reason))")
    }

    private func handle(_ frame: Frame) {
        switch frame.type {
        case .eventResults, .eraseResult, .verdict:
            var reader = WireReader(frame.body)
            guard let id = try? reader.u64() else { return }
            let continuation = state.withLock { state -> CheckedContinuation<Frame?, Never>? in
                switch state.pending[id] {
                case .waiting:
                    state.pending[id] = .answered(frame)
                    return nil
                case .suspended(let continuation, _, _):
                    state.pending[id] = nil
                    return continuation
                case .answered, nil:
                    return nil  // Late (timed out) or a duplicate: the runner is not trusted with ids.
                }
            }
            continuation?.resume(returning: frame)
        case .log:
            var reader = WireReader(frame.body)
            let level = (try? reader.u32()) ?? 1
            let text = (try? reader.string()) ?? ""
            logger.log(
                level: level >= 3 ? .error : level == 2 ? .warning : .info, "\(text)",
                metadata: ["addon.id": "\(manifest.id)"])
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

    /// Fails everything in flight and schedules a restart, or quarantine after repeated failures.
    private func died(_ process: RunnerProcess, reason: String) {
        let now = clock.now()
        let (waiting, quarantined, backoff) = state.withLock {
            state -> ([CheckedContinuation<Frame?, Never>], Bool, Double) in
            guard state.process === process else { return ([], false, 0) }
            state.process = nil
            if state.stopping {
                defer { state.pending.removeAll() }
                return (Self.suspended(state.pending), false, -1)
            }
            state.crashes += 1
            state.lastFailure = reason
            state.failures =
                state.failures.filter { now.timeIntervalSince($0) < Double(settings.failureWindowSeconds) } + [now]
            let backoff = min(0.1 * pow(2, Double(state.failures.count - 1)), 10)
            state.restartAt = now.addingTimeInterval(backoff)
            var quarantined = false
            if state.failures.count >= settings.maxFailures {
                state.quarantinedUntil = now.addingTimeInterval(Double(settings.quarantineSeconds))
                quarantined = true
            }
            let waiting = Self.suspended(state.pending)
            state.pending.removeAll()
            return (waiting, quarantined, backoff)
        }
        for continuation in waiting { continuation.resume(returning: nil) }
        if backoff < 0 {
            logger.info("add-on runner stopped", metadata: ["addon.id": "\(manifest.id)", "ended": "\(reason)"])
            return
        }
        if quarantined {
            logger.error(
                "add-on quarantined after repeated failures",
                metadata: [
                    "addon.id": "\(manifest.id)", "reason": "\(reason)", "seconds": "\(settings.quarantineSeconds)",
                ])
        } else {
            logger.error(
                "add-on runner failed; restarting",
                metadata: ["addon.id": "\(manifest.id)", "reason": "\(reason)", "backoff_s": "\(backoff)"])
        }
    }

    private static func suspended(_ pending: [UInt64: Waiter]) -> [CheckedContinuation<Frame?, Never>] {
        pending.values.compactMap {
            if case .suspended(let continuation, _, _) = $0 { continuation } else { nil }
        }
    }

    /// The live runner, restarting it when its backoff has passed; nil while it is down or quarantined.
    private func running() async -> RunnerProcess? {
        let now = clock.now()
        let (process, mayStart) = state.withLock { state -> (RunnerProcess?, Bool) in
            if let process = state.process { return (process, false) }
            if let until = state.quarantinedUntil, until > now { return (nil, false) }
            if let at = state.restartAt, at > now { return (nil, false) }
            return (nil, true)
        }
        if let process { return process }
        guard mayStart else { return nil }
        return await withCheckedContinuation { continuation in
            lifecycle.async {
                if let process = self.state.withLock({ $0.process }) { return continuation.resume(returning: process) }
                if let failure = self.start() {
                    self.state.withLock { state in
                        state.lastFailure = failure
                        state.failures.append(now)
                        state.restartAt = now.addingTimeInterval(min(0.1 * pow(2, Double(state.failures.count)), 10))
                    }
                    return continuation.resume(returning: nil)
                }
                self.state.withLock { state in
                    state.restarts += 1
                    state.quarantinedUntil = nil
                }
                continuation.resume(returning: self.state.withLock { $0.process })
            }
        }
    }

    /// Sends one request and waits for its answer within `timeoutMs`; nil when the runner is down,
    /// died, or did not answer in time (it is then killed, as a hung runner). With `spin`, a caller
    /// that is the only one waiting reads the answer itself for up to that long before it suspends.
    private func request(timeoutMs: Int, spin: Duration = .zero, _ make: (UInt64, Int64) -> Frame) async -> Frame? {
        guard let process = await running() else { return nil }
        let (id, inbox, alone) = state.withLock { state -> (UInt64, RunnerInbox?, Bool) in
            defer { state.nextID += 1 }
            guard state.process === process else { return (state.nextID, nil, false) }
            state.pending[state.nextID] = .waiting
            return (state.nextID, state.inbox, state.pending.count == 1)
        }
        guard let inbox else { return nil }
        guard process.write(make(id, clock.now().epochMillis)) else {
            state.withLock { _ = $0.pending.removeValue(forKey: id) }
            return nil
        }
        if alone && spin > .zero {
            let deadline = ContinuousClock.now + spin
            repeat {
                switch take(id) {
                case .some(let answer): return answer
                case .none: break
                }
                if case .invalid = inbox.pump(wait: false, handle) { process.kill() }
                // On a busy machine the runner may be waiting for this very core.
                sched_yield()
            } while ContinuousClock.now < deadline
        }
        return await withCheckedContinuation { continuation in
            let (ready, startSweep) = state.withLock { state -> (Frame??, Bool) in
                let ready = Self.take(id, from: &state)
                guard ready == nil else { return (ready, false) }
                state.pending[id] = .suspended(
                    continuation, deadline: .now + .milliseconds(timeoutMs), timeoutMs: timeoutMs)
                defer { state.sweeping = true }
                return (nil, !state.sweeping)
            }
            if let ready { return continuation.resume(returning: ready) }
            if startSweep { sweep.schedule(deadline: .now() + Self.sweepInterval, leeway: Self.sweepInterval) }
        }
    }

    /// How often suspended requests are checked against their deadlines while any are waiting. One
    /// timer per add-on rather than one per request: thousands of live dispatch timers a second cost
    /// more than the checks they guarded.
    private static let sweepInterval = DispatchTimeInterval.milliseconds(5)

    /// Fails the requests whose time is up and kills the runner as hung; runs on the sweep's timer.
    private func sweepExpired() {
        let now = ContinuousClock.now
        let (expired, process, again) = state.withLock {
            state -> ([(CheckedContinuation<Frame?, Never>, Int)], RunnerProcess?, Bool) in
            var expired: [(CheckedContinuation<Frame?, Never>, Int)] = []
            var waiting = false
            for (id, waiter) in state.pending {
                guard case .suspended(let continuation, let deadline, let timeoutMs) = waiter else { continue }
                if deadline <= now {
                    state.pending[id] = nil
                    expired.append((continuation, timeoutMs))
                } else {
                    waiting = true
                }
            }
            state.timeouts += expired.count
            state.sweeping = waiting
            return (expired, state.process, waiting)
        }
        if again { sweep.schedule(deadline: .now() + Self.sweepInterval, leeway: Self.sweepInterval) }
        guard let (_, timeoutMs) = expired.first else { return }
        logger.error(
            "add-on did not answer in time; killing its runner",
            metadata: ["addon.id": "\(manifest.id)", "timeout_ms": "\(timeoutMs)"])
        for (continuation, _) in expired { continuation.resume(returning: nil) }
        process?.kill()
    }

    /// The answer if it is in (nil inside when the runner died), or nil while it is still awaited.
    private func take(_ id: UInt64) -> Frame?? {
        state.withLock { Self.take(id, from: &$0) }
    }

    private static func take(_ id: UInt64, from state: inout State) -> Frame?? {
        switch state.pending[id] {
        case .answered(let frame):
            state.pending[id] = nil
            return .some(frame)
        case .waiting:
            return .none
        case .suspended, nil:
            return .some(nil)  // The runner died meanwhile.
        }
    }

    // MARK: AddonEndpoint

    package func deliver(_ work: [OutboxWorker.Work]) async -> [Int32] {
        var codes: [Int32] = []
        var index = 0
        while index < work.count {
            if case .erase(_, _, let accountID, let order, let pseudonym) = work[index] {
                let subject = Requests.Subject(
                    kind: order.subjectKind.abiKind, accountID: accountID, value: order.value,
                    pseudonym: pseudonym)
                guard
                    let answer = await request(
                        timeoutMs: settings.eventTimeoutMs, { Requests.erase(id: $0, now: $1, subject) }),
                    let code = try? Requests.readCodes(answer.body).codes.first
                else { return codes }
                codes.append(code)
                if code == SB_RETRY { return codes }
                index += 1
                continue
            }
            // Consecutive events travel in one frame: one round trip for the batch.
            var events: [WireEvent] = []
            while index + events.count < work.count, case .event(_, _, let view, _) = work[index + events.count] {
                events.append(view.wire)
            }
            guard
                let answer = await request(
                    timeoutMs: settings.eventTimeoutMs, { Requests.events(id: $0, now: $1, events) }),
                let results = try? Requests.readCodes(answer.body).codes
            else { return codes }
            codes += results.prefix(events.count)
            if results.count < events.count || results.last == SB_RETRY { return codes }
            index += events.count
        }
        return codes
    }

    package func check(_ view: AddonView) async -> AddonLibrary.CheckOutcome {
        guard
            let answer = await request(
                timeoutMs: manifest.syncTimeoutMs, spin: .microseconds(settings.spinMicroseconds),
                { Requests.check(id: $0, now: $1, view.wire) })
        else {
            let why = state.withLock {
                $0.quarantinedUntil != nil
                    ? "quarantined" : ($0.lastFailure ?? "no answer within \(manifest.syncTimeoutMs) ms")
            }
            return .failed("the add-on is unavailable: \(why)")
        }
        guard let (_, verdict) = try? Requests.readVerdict(answer.body) else {
            return .failed("the runner sent an unreadable verdict")
        }
        guard verdict.code == SB_OK else { return .failed("check returned \(verdict.code)") }
        switch verdict.action {
        case UInt32(SB_VERDICT_ALLOW): return .allow
        case UInt32(SB_VERDICT_BLOCK):
            return .block(code: verdict.reasonCode.isEmpty ? "blocked" : verdict.reasonCode, reason: verdict.reason)
        default: return .failed("check returned an invalid verdict action \(verdict.action)")
        }
    }

    package func status() -> AddonRuntimeStatus {
        let now = clock.now()
        return state.withLock { state in
            let quarantined = state.quarantinedUntil.map { $0 > now } ?? false
            return AddonRuntimeStatus(
                state: quarantined ? "quarantined" : state.process != nil ? "running" : "restarting",
                pid: state.process?.pid,
                restarts: state.restarts, crashes: state.crashes, timeouts: state.timeouts,
                lastFailure: state.lastFailure,
                quarantinedUntil: quarantined ? state.quarantinedUntil.map { Timestamp.string($0) } : nil)
        }
    }

    /// Stops the runner for good (daemon shutdown).
    package func stop() {
        stopping()?.kill()
    }

    /// Lets the runner end on its own: it sees the end of its input, calls the add-on's `destroy`
    /// and exits. One that takes longer than a few seconds is killed.
    func shutdown() {
        guard let process = stopping() else { return }
        process.endInput()
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(5)) { process.kill() }
    }

    private func stopping() -> RunnerProcess? {
        state.withLock { state -> RunnerProcess? in
            state.quarantinedUntil = .distantFuture
            state.stopping = true
            return state.process
        }
    }
}

extension AddonView {
    /// The view in the runner protocol's shape (the same as `sb_event`).
    var wire: WireEvent {
        WireEvent(
            type: type.abiCode, typeName: type.rawValue, eventID: eventID, accountID: accountID, timeMs: timeMs,
            fields: fields.map { field in
                switch (field.value, field.treatment) {
                case (.int(let value), _):
                    return WireField(id: field.id, kind: UInt32(SB_FIELD_INT), bytes: [], intValue: value)
                case (.text(let text), .clear):
                    return WireField(id: field.id, kind: UInt32(SB_FIELD_TEXT), bytes: Array(text.utf8), intValue: 0)
                case (.text(let text), .pseudonym):
                    return WireField(
                        id: field.id, kind: UInt32(SB_FIELD_PSEUDONYM), bytes: Array(text.utf8), intValue: 0)
                case (.text(let text), .digest):
                    return WireField(id: field.id, kind: UInt32(SB_FIELD_DIGEST), bytes: Array(text.utf8), intValue: 0)
                }
            })
    }
}
