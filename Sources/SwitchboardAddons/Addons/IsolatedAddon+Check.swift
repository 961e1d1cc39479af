import Foundation
import Logging
import PluginAPI
import RunnerProtocol
import SwitchboardCore

extension IsolatedAddon {
    /// The pre-send check. A check that was never written is `undelivered`; one that times out is
    /// sent once more with the same budget, and if that times out too, the time is judged
    /// (`CheckTimeout`): the runner is killed as hung, or, when the host was too busy to run it,
    /// the timeout is counted apart and the runner left in service. Either way the check failed.
    package func check(_ view: AddonView) async -> AddonLibrary.CheckOutcome {
        let budget = manifest.syncTimeoutMs
        let spin = Duration.microseconds(settings.spinMicroseconds)
        let make = { (id: UInt64, now: Int64) in Requests.check(id: id, now: now, view.wire) }
        guard let first = await send(make) else {
            return .undelivered("the add-on is unavailable: \(unavailableReason)")
        }
        switch await reply(to: first, timeoutMs: budget, spin: spin, killsOnTimeout: false) {
        case .answered(let answer): return outcome(of: answer)
        case .lost, .notSent: return .failed("the add-on is unavailable: \(unavailableReason)")
        case .timedOut: break
        }
        // One late answer is not yet a failure: a CPU burst on the host can delay a healthy runner.
        supervisor.withLock { $0.checkRetried() }
        guard let retry = await send(make) else {
            return .failed("the add-on is unavailable: \(unavailableReason)")
        }
        let started = ContinuousClock.now
        let before = HostLoad.sample(pid: retry.runner.process.pid)
        switch await reply(to: retry, timeoutMs: budget, spin: spin, killsOnTimeout: false) {
        case .answered(let answer):
            logger.debug("add-on answered a check on its retry", metadata: ["addon.id": "\(manifest.id)"])
            return outcome(of: answer)
        case .lost, .notSent: return .failed("the add-on is unavailable: \(unavailableReason)")
        case .timedOut: break
        }
        let after = HostLoad.sample(pid: retry.runner.process.pid)
        let timeout = CheckTimeout(
            waited: ContinuousClock.now - started,
            runnerCPU: before.flatMap { before in after.map { $0.cpu - before.cpu } },
            runnerRunnable: after?.runnable, runQueue: HostLoad.runQueue(), cores: HostLoad.cores,
            clockTick: HostLoad.clockTick)
        let metadata: Logger.Metadata = [
            "addon.id": "\(manifest.id)", "timeout_ms": "\(budget)",
            "runner_cpu_ms": "\(timeout.runnerCPU.map { "\($0 / .milliseconds(1))" } ?? "unknown")",
            "runner_runnable": "\(timeout.runnerRunnable.map(String.init) ?? "unknown")",
            "run_queue": "\(timeout.runQueue.map(String.init) ?? "unknown")", "cores": "\(timeout.cores)",
        ]
        switch timeout.cause {
        case .hostSlow:
            supervisor.withLock { $0.hostWasSlow() }
            logger.warning(
                "add-on check timed out twice while the host was overloaded; not counted against the add-on",
                metadata: metadata)
            return .failed("no answer within \(budget) ms, twice, while the host was overloaded")
        case .addon:
            logger.error("add-on did not answer a check in time, twice; killing its runner", metadata: metadata)
            perform(supervisor.withLock { $0.checkHung(retry.runner) })
            return .failed("the add-on is unavailable: no answer within \(budget) ms")
        }
    }

    /// The check's outcome from the runner's answer.
    func outcome(of answer: Frame) -> AddonLibrary.CheckOutcome {
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
}
