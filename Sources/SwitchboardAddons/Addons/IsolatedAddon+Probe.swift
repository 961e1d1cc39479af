import Foundation
import Logging
import PluginAPI
import RunnerProtocol
import SwitchboardCore

extension IsolatedAddon {
    /// Probes a quarantined add-on again after `quarantineProbeSeconds`, when it has a pre-send
    /// check to probe (an add-on without one only holds events back, which its outbox keeps).
    func scheduleProbe() {
        guard settings.quarantineProbeSeconds > 0, manifest.hooks.contains(.messageSubmit) else { return }
        let delay = supervisor.withLock {
            $0.probeDelay(base: .seconds(settings.quarantineProbeSeconds), cap: Self.longestProbeDelay)
        }
        let (seconds, attoseconds) = delay.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        lifecycle.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [weak self] in
            guard let self else { return }
            let now = ContinuousClock.now
            // The spawn reports its outcome: a runner up is probed (`probe(_:)`), a failure schedules the next.
            if supervisor.withLock({ $0.probeDue(now: now) }) { _ = spawnRunner() }
        }
    }

    /// The longest wait between probes of an add-on that keeps relapsing: it still comes back within
    /// a minute once it is mended.
    static let longestProbeDelay = Duration.seconds(60)

    /// The check a probe sends: an event of the check's type with no fields, no account and the
    /// event id `probe`, so no customer data crosses.
    private func probeEvent() -> WireEvent {
        WireEvent(
            type: EventType.messageSubmit.abiCode, typeName: EventType.messageSubmit.rawValue, eventID: "probe",
            accountID: "", timeMs: clock.now().epochMillis, fields: [])
    }

    /// Sends the probe check to `runner`, a fresh runner of a quarantined add-on. A valid verdict
    /// within the check's budget puts it in service; anything else kills it, and the quarantine goes
    /// on (its exit schedules the next probe).
    func probe(_ runner: RunnerConnection) async {
        guard let (id, probed) = supervisor.withLock({ $0.submitProbe() }), probed == runner else { return }
        let event = probeEvent()
        guard runner.process.write(Requests.check(id: id, now: clock.now().epochMillis, event)) else {
            supervisor.withLock { $0.sendFailed(id: id) }
            perform(supervisor.withLock { $0.probeRejected(runner) })
            return
        }
        // A probe that does not answer in time is killed as hung by the sweep.
        let reply = await reply(to: Sent(id: id, runner: runner, alone: true), timeoutMs: manifest.syncTimeoutMs)
        guard case .answered(let answer) = reply else { return }
        switch outcome(of: answer) {
        case .allow, .block:
            if supervisor.withLock({ $0.probePassed(runner, now: ContinuousClock.now) }) {
                logger.notice(
                    "quarantined add-on answered its probe; back in service", metadata: ["addon.id": "\(manifest.id)"])
            }
        case .failed(let why), .undelivered(let why):
            logger.info(
                "quarantined add-on answered its probe with no valid verdict; it stays quarantined",
                metadata: ["addon.id": "\(manifest.id)", "reason": "\(why)"])
            perform(supervisor.withLock { $0.probeRejected(runner) })
        }
    }
}
