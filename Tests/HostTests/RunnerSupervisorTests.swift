import Foundation
import RunnerProtocol
import SwitchboardAddons
import Testing

/// The isolated add-on's supervisor as a pure state machine: every decision with made-up runners,
/// waiters and instants; no process, no socket, no clock read. `RunnerTests` proves the same
/// decisions against real runners.
@Suite struct RunnerSupervisorTests {
    /// Runners are named, waiters numbered.
    typealias Machine = RunnerSupervisorStateMachine<String, Int>

    /// The injected clock: every instant is `start` plus a number of ms.
    let start = ContinuousClock.now
    func at(_ ms: Int) -> ContinuousClock.Instant { start + .milliseconds(ms) }

    /// As `RunnerTests` configures the daemon: quarantine after 3 failures within 60 s, for 2 s.
    static let policy = RunnerSupervisionPolicy(maxFailures: 3, failureWindow: .seconds(60), quarantine: .seconds(2))

    static func answer(_ byte: UInt8) -> Frame { Frame(.verdict, [byte]) }

    /// A machine whose first runner, `r1`, answered READY.
    func serving(_ policy: RunnerSupervisionPolicy = Self.policy) -> Machine {
        var machine = Machine(policy: policy)
        #expect(machine.spawnSucceeded("r1") == .serve)
        return machine
    }

    /// A machine quarantined at 500 ms until 2500 ms after three crashes (runners r1 to r3).
    func quarantined() -> Machine {
        var machine = serving()
        _ = machine.runnerExited("r1", reason: "killed by signal 11", now: at(0))
        #expect(machine.submit(now: at(100)) == .spawn)
        #expect(machine.spawnSucceeded("r2") == .serve)
        _ = machine.runnerExited("r2", reason: "killed by signal 11", now: at(200))
        #expect(machine.submit(now: at(400)) == .spawn)
        #expect(machine.spawnSucceeded("r3") == .serve)
        #expect(
            machine.runnerExited("r3", reason: "killed by signal 11", now: at(500))
                == .quarantine(until: at(2500), failing: []))
        return machine
    }

    @Test func aSpawnedRunnerAnswersRequests() {
        var machine = Machine(policy: Self.policy)
        #expect(machine.state == .spawning)
        #expect(machine.spawnSucceeded("r1") == .serve)
        #expect(machine.state == .running("r1"))
        #expect(machine.runtimeState(now: at(0)) == .running)
        #expect(machine.inFlight == 0)

        // A check alone in flight reads its own answer.
        #expect(machine.submit(now: at(0)) == .send(id: 1, to: "r1", alone: true))
        #expect(machine.takeAnswer(id: 1) == .awaited)
        #expect(machine.answerReceived(id: 1, Self.answer(1)) == .none)
        #expect(machine.takeAnswer(id: 1) == .answered(Self.answer(1)))
        #expect(machine.inFlight == 0)

        // Pipelined requests sleep; each answer resumes its own caller; one sweep timer for all.
        #expect(machine.submit(now: at(1)) == .send(id: 2, to: "r1", alone: true))
        #expect(machine.submit(now: at(1)) == .send(id: 3, to: "r1", alone: false))
        #expect(machine.inFlight == 2)
        #expect(machine.suspend(id: 3, 30, timeoutMs: 100, now: at(1)) == .sleep(startSweep: true))
        #expect(machine.suspend(id: 2, 20, timeoutMs: 100, now: at(1)) == .sleep(startSweep: false))
        #expect(machine.answerReceived(id: 3, Self.answer(3)) == .resume(30, Self.answer(3)))
        #expect(machine.answerReceived(id: 2, Self.answer(2)) == .resume(20, Self.answer(2)))
        // A duplicate answer, or one to an id never sent, completes nothing.
        #expect(machine.answerReceived(id: 2, Self.answer(2)) == .none)
        #expect(machine.answerReceived(id: 99, Self.answer(99)) == .none)
        #expect(machine.inFlight == 0)
        #expect(machine.sweep(now: at(6)) == .wait(sweepAgain: false))

        // An answer that came while its caller decided to sleep is handed over at once.
        #expect(machine.submit(now: at(7)) == .send(id: 4, to: "r1", alone: true))
        #expect(machine.answerReceived(id: 4, Self.answer(4)) == .none)
        #expect(machine.suspend(id: 4, 40, timeoutMs: 100, now: at(8)) == .resume(Self.answer(4)))
        #expect(machine.timeouts == 0)
        #expect(machine.crashes == 0)
        #expect(machine.restarts == 0)
    }

    @Test func aRequestPastItsDeadlineKillsTheRunnerAsHungAndARestartFollowsAfterTheBackoff() {
        var machine = serving()
        #expect(machine.submit(now: at(0)) == .send(id: 1, to: "r1", alone: true))
        #expect(machine.suspend(id: 1, 10, timeoutMs: 300, now: at(0)) == .sleep(startSweep: true))
        #expect(machine.sweep(now: at(5)) == .wait(sweepAgain: true))
        #expect(machine.sweep(now: at(299)) == .wait(sweepAgain: true))
        #expect(
            machine.sweep(now: at(300)) == .expire(failing: [10], timeoutMs: 300, killAsHung: "r1", sweepAgain: false))
        #expect(machine.timeouts == 1)
        #expect(machine.state == .killed("r1"))
        // Nothing more goes to a runner being killed; it shows as running until its exit is seen.
        #expect(machine.submit(now: at(301)) == .fail)
        #expect(machine.runtimeState(now: at(301)) == .running)
        #expect(machine.runner == "r1")

        let restartAt = at(302) + .seconds(0.1)
        #expect(
            machine.runnerExited("r1", reason: "killed by signal 9", now: at(302))
                == .backOff(until: restartAt, seconds: 0.1, failing: []))
        #expect(machine.state == .backoff(restartAt: restartAt))
        #expect(machine.crashes == 1)
        #expect(machine.lastFailure == "killed by signal 9")
        #expect(machine.unavailableReason == "killed by signal 9")
        #expect(machine.runtimeState(now: at(302)) == .restarting)
        #expect(machine.runner == nil)

        // Requests fail at once during the backoff; the first one after it spawns, others wait for that.
        #expect(machine.submit(now: restartAt - .milliseconds(1)) == .fail)
        #expect(machine.submit(now: restartAt) == .spawn)
        #expect(machine.state == .spawning)
        #expect(machine.submit(now: restartAt) == .awaitSpawn)
        #expect(machine.spawnSucceeded("r2") == .serve)
        #expect(machine.restarts == 1)
        #expect(machine.submit(now: at(403)) == .send(id: 2, to: "r2", alone: true))
    }

    @Test func onlyTheExpiredRequestsFailAndTheSweepGoesOnForTheOthers() {
        var machine = serving()
        #expect(machine.submit(now: at(0)) == .send(id: 1, to: "r1", alone: true))
        #expect(machine.submit(now: at(0)) == .send(id: 2, to: "r1", alone: false))
        #expect(machine.submit(now: at(0)) == .send(id: 3, to: "r1", alone: false))
        #expect(machine.suspend(id: 1, 10, timeoutMs: 50, now: at(0)) == .sleep(startSweep: true))
        #expect(machine.suspend(id: 2, 20, timeoutMs: 1000, now: at(0)) == .sleep(startSweep: false))
        #expect(machine.suspend(id: 3, 30, timeoutMs: 50, now: at(0)) == .sleep(startSweep: false))
        #expect(
            machine.sweep(now: at(50)) == .expire(failing: [10, 30], timeoutMs: 50, killAsHung: "r1", sweepAgain: true))
        #expect(machine.timeouts == 2)
        // The survivor is still answered if the answer beats the exit.
        #expect(machine.answerReceived(id: 2, Self.answer(2)) == .resume(20, Self.answer(2)))
        #expect(machine.sweep(now: at(55)) == .wait(sweepAgain: false))
    }

    @Test func repeatedFailuresWithinTheWindowQuarantineTheAddonAndRequestsFailAtOnce() {
        var machine = serving()
        #expect(
            machine.runnerExited("r1", reason: "killed by signal 11", now: at(0))
                == .backOff(until: at(0) + .seconds(0.1), seconds: 0.1, failing: []))
        #expect(machine.submit(now: at(100)) == .spawn)
        #expect(machine.spawnSucceeded("r2") == .serve)
        #expect(
            machine.runnerExited("r2", reason: "killed by signal 11", now: at(200))
                == .backOff(until: at(200) + .seconds(0.2), seconds: 0.2, failing: []))
        #expect(machine.submit(now: at(399)) == .fail)
        #expect(machine.submit(now: at(400)) == .spawn)
        #expect(machine.spawnSucceeded("r3") == .serve)
        #expect(machine.submit(now: at(450)) == .send(id: 1, to: "r3", alone: true))
        #expect(machine.suspend(id: 1, 10, timeoutMs: 300, now: at(450)) == .sleep(startSweep: true))
        #expect(
            machine.runnerExited("r3", reason: "killed by signal 11", now: at(500))
                == .quarantine(until: at(2500), failing: [10]))
        #expect(machine.state == .quarantined(until: at(2500), restartAt: at(2500)))
        #expect(machine.runtimeState(now: at(500)) == .quarantined)
        #expect(machine.quarantinedUntil(now: at(500)) == at(2500))
        #expect(machine.unavailableReason == "quarantined")
        #expect(machine.submit(now: at(501)) == .fail)
        #expect(machine.submit(now: at(2499)) == .fail)
        #expect(machine.runtimeState(now: at(2499)) == .quarantined)
        #expect(machine.crashes == 3)
        #expect(machine.restarts == 2)
    }

    @Test func theQuarantineEndsAndTheNextRequestSpawnsARunner() {
        var machine = quarantined()
        #expect(machine.runtimeState(now: at(2500)) == .restarting)
        #expect(machine.quarantinedUntil(now: at(2500)) == nil)
        #expect(machine.submit(now: at(2500)) == .spawn)
        #expect(machine.spawnSucceeded("r4") == .serve)
        #expect(machine.state == .running("r4"))
        #expect(machine.restarts == 3)
        #expect(machine.submit(now: at(2501)) == .send(id: 1, to: "r4", alone: true))
        // The failures before the quarantine are still within the window: one more quarantines again.
        #expect(
            machine.runnerExited("r4", reason: "killed by signal 11", now: at(3000))
                == .quarantine(until: at(5000), failing: []))
    }

    /// An add-on whose check answers but whose events crash it passes each probe and fails again:
    /// each such relapse doubles the wait for the next probe, up to the cap; a quarantine that
    /// follows no probe (or one long ago) starts again from the base.
    @Test func eachRelapseAfterAPassedProbeDoublesTheWaitForTheNextProbe() {
        var machine = quarantined()
        let base = Duration.seconds(5)
        let cap = Duration.seconds(60)
        #expect(machine.probeDelay(base: base, cap: cap) == .seconds(5))
        var now = 600
        for (index, expected) in [10, 20, 40, 60, 60].enumerated() {
            let runner = "p\(index + 1)"
            let due = machine.probeDue(now: at(now))
            #expect(due)
            #expect(machine.spawnSucceeded(runner) == .probe)
            #expect(machine.submitProbe()?.runner == runner)
            let passed = machine.probePassed(runner, now: at(now + 10))
            #expect(passed)
            // Back in service; its next event crashes it within the window.
            guard case .quarantine = machine.runnerExited(runner, reason: "killed by signal 6", now: at(now + 50))
            else {
                Issue.record("a relapse did not quarantine: \(machine.state)")
                return
            }
            #expect(machine.relapses == index + 1)
            #expect(machine.probeDelay(base: base, cap: cap) == .seconds(expected))
            now += 100
        }
    }

    @Test func failuresOutsideTheWindowDoNotCount() {
        var machine = serving()
        _ = machine.runnerExited("r1", reason: "crash", now: at(0))
        #expect(machine.submit(now: at(100)) == .spawn)
        #expect(machine.spawnSucceeded("r2") == .serve)
        _ = machine.runnerExited("r2", reason: "crash", now: at(200))
        #expect(machine.submit(now: at(60_000)) == .spawn)
        #expect(machine.spawnSucceeded("r3") == .serve)
        // At 60.1 s the failure at 0 has left the window (one exactly 60 s old has), the one at
        // 200 ms has not: two count, not three.
        #expect(
            machine.runnerExited("r3", reason: "crash", now: at(60_100))
                == .backOff(until: at(60_100) + .seconds(0.2), seconds: 0.2, failing: []))
    }

    @Test func aRunnerThatCannotBeSpawnedCountsAsAFailureButNotAsACrash() {
        var machine = serving()
        _ = machine.runnerExited("r1", reason: "crash", now: at(0))
        #expect(machine.submit(now: at(100)) == .spawn)
        #expect(
            machine.spawnFailed(reason: "the runner refused the library", now: at(101))
                == .backOff(until: at(101) + .seconds(0.2), seconds: 0.2, failing: []))
        #expect(machine.crashes == 1)
        #expect(machine.lastFailure == "the runner refused the library")
        #expect(machine.submit(now: at(300)) == .fail)
        #expect(machine.submit(now: at(301)) == .spawn)
        #expect(
            machine.spawnFailed(reason: "the runner refused the library", now: at(302))
                == .quarantine(until: at(2302), failing: []))
    }

    @Test func anExitFailsEveryRequestInFlight() {
        var machine = serving()
        #expect(machine.submit(now: at(0)) == .send(id: 1, to: "r1", alone: true))
        #expect(machine.submit(now: at(0)) == .send(id: 2, to: "r1", alone: false))
        #expect(machine.submit(now: at(0)) == .send(id: 3, to: "r1", alone: false))
        #expect(machine.suspend(id: 3, 30, timeoutMs: 100, now: at(0)) == .sleep(startSweep: true))
        #expect(machine.suspend(id: 1, 10, timeoutMs: 100, now: at(0)) == .sleep(startSweep: false))
        // Request 2's caller is still reading its own answer.
        #expect(
            machine.runnerExited("r1", reason: "killed by signal 6", now: at(10))
                == .backOff(until: at(10) + .seconds(0.1), seconds: 0.1, failing: [10, 30]))
        #expect(machine.inFlight == 0)
        #expect(machine.takeAnswer(id: 2) == .failed)
        #expect(machine.suspend(id: 2, 20, timeoutMs: 100, now: at(11)) == .fail)
        // A frame the dead runner left behind completes nothing; the sweep finds nothing left.
        #expect(machine.answerReceived(id: 1, Self.answer(1)) == .none)
        #expect(machine.sweep(now: at(15)) == .wait(sweepAgain: false))
        #expect(machine.timeouts == 0)
        #expect(machine.crashes == 1)
    }

    @Test func theExitOfAnEarlierRunnerIsIgnored() {
        var machine = serving()
        #expect(machine.runnerExited("r0", reason: "crash", now: at(0)) == .none)
        #expect(machine.state == .running("r1"))
        #expect(machine.crashes == 0)
    }

    @Test func aRequestThatCannotBeWrittenIsForgotten() {
        var machine = serving()
        #expect(machine.submit(now: at(0)) == .send(id: 1, to: "r1", alone: true))
        machine.sendFailed(id: 1)
        #expect(machine.inFlight == 0)
        #expect(machine.submit(now: at(0)) == .send(id: 2, to: "r1", alone: true))
    }

    @Test func aGracefulStopLetsTheRunnerFinishWhatItHas() {
        var machine = serving()
        #expect(machine.submit(now: at(0)) == .send(id: 1, to: "r1", alone: true))
        #expect(machine.submit(now: at(0)) == .send(id: 2, to: "r1", alone: false))
        #expect(machine.suspend(id: 1, 10, timeoutMs: 100, now: at(0)) == .sleep(startSweep: true))
        #expect(machine.suspend(id: 2, 20, timeoutMs: 100, now: at(0)) == .sleep(startSweep: false))
        #expect(machine.stop(graceful: true) == .endInput("r1", killAfter: .seconds(5)))
        #expect(machine.runtimeState(now: at(1)) == .stopped)
        #expect(machine.unavailableReason == "stopped")
        #expect(machine.submit(now: at(1)) == .fail)
        #expect(machine.stop(graceful: true) == .none)
        #expect(machine.answerReceived(id: 1, Self.answer(1)) == .resume(10, Self.answer(1)))
        // What it did not answer fails at its exit, which is no failure of the add-on.
        #expect(machine.runnerExited("r1", reason: "exited with status 0", now: at(2)) == .stopped(failing: [20]))
        #expect(machine.state == .stopped)
        #expect(machine.crashes == 0)
        #expect(machine.lastFailure == nil)
        #expect(machine.stop(graceful: false) == .none)
    }

    @Test func aShutdownKillsTheRunnerAndFailsWhatIsInFlight() {
        var machine = serving()
        #expect(machine.submit(now: at(0)) == .send(id: 1, to: "r1", alone: true))
        #expect(machine.suspend(id: 1, 10, timeoutMs: 100, now: at(0)) == .sleep(startSweep: true))
        #expect(machine.stop(graceful: false) == .kill("r1"))
        #expect(machine.runner == "r1")
        #expect(machine.runnerExited("r1", reason: "killed by signal 9", now: at(1)) == .stopped(failing: [10]))
        #expect(machine.runner == nil)

        // A shutdown after a graceful stop does not wait for the grace period.
        var retired = serving()
        #expect(retired.stop(graceful: true) == .endInput("r1", killAfter: .seconds(5)))
        #expect(retired.stop(graceful: false) == .kill("r1"))
    }

    @Test func aStopWhileARunnerSpawnsStopsItOnceItIsUp() {
        var machine = Machine(policy: Self.policy)
        #expect(machine.stop(graceful: true) == .none)
        #expect(machine.submit(now: at(0)) == .fail)
        #expect(machine.spawnSucceeded("r1") == .stop(.endInput("r1", killAfter: .seconds(5))))
        #expect(machine.runnerExited("r1", reason: "exited with status 0", now: at(1)) == .stopped(failing: []))

        var failing = Machine(policy: Self.policy)
        #expect(failing.stop(graceful: false) == .none)
        #expect(failing.spawnFailed(reason: "cannot start", now: at(0)) == .stopped(failing: []))
        #expect(failing.state == .stopped)
    }

    @Test func aStopWhileBackingOffOrQuarantinedEndsSupervision() {
        var backingOff = serving()
        _ = backingOff.runnerExited("r1", reason: "crash", now: at(0))
        #expect(backingOff.stop(graceful: false) == .none)
        #expect(backingOff.state == .stopped)
        #expect(backingOff.submit(now: at(1000)) == .fail)

        var machine = quarantined()
        #expect(machine.stop(graceful: true) == .none)
        #expect(machine.runtimeState(now: at(600)) == .stopped)
        #expect(machine.submit(now: at(10_000)) == .fail)
    }

    @Test(arguments: zip(1...10, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10, 10, 10]))
    func theBackoffDoublesFrom100msTo10s(failures: Int, seconds: Double) {
        #expect(RunnerSupervisionPolicy.backoffSeconds(afterFailures: failures) == seconds)
    }

    @Test func eachFailureInTheWindowBacksOffByTheFormula() {
        var policy = Self.policy
        policy.maxFailures = 100
        policy.failureWindow = .seconds(3600)
        var machine = serving(policy)
        var now = 0
        for failure in 1...9 {
            let seconds = RunnerSupervisionPolicy.backoffSeconds(afterFailures: failure)
            #expect(
                machine.runnerExited("r\(failure)", reason: "crash", now: at(now))
                    == .backOff(until: at(now) + .seconds(seconds), seconds: seconds, failing: []))
            now += 10_000
            #expect(machine.submit(now: at(now)) == .spawn)
            #expect(machine.spawnSucceeded("r\(failure + 1)") == .serve)
        }
    }

    @Test func theSettingsMakeThePolicy() {
        let policy = RunnerSupervisionPolicy(IsolationSettings())
        #expect(policy.maxFailures == 5)
        #expect(policy.failureWindow == .seconds(60))
        #expect(policy.quarantine == .seconds(300))
        #expect(policy.stopGracePeriod == .seconds(5))
    }

    /// The API and the gauges keep the strings they always had.
    @Test func theRuntimeStateIsAnsweredAsBefore() throws {
        #expect(AddonRuntimeState.running.rawValue == "running")
        #expect(AddonRuntimeState.restarting.rawValue == "restarting")
        #expect(AddonRuntimeState.quarantined.rawValue == "quarantined")
        #expect(AddonRuntimeState.stopped.rawValue == "stopped")
        let status = AddonRuntimeStatus(
            state: .quarantined, pid: nil, restarts: 1, crashes: 3, timeouts: 0, lastFailure: nil,
            quarantinedUntil: nil)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any]
        #expect(json?["state"] as? String == "quarantined")
    }
}
