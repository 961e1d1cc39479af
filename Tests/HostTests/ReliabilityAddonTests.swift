import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// Isolated pre-send add-ons under failure: the ledger records only the checks that reached the
/// add-on, a slow host is told apart from a broken add-on, and a quarantined add-on comes back as
/// soon as it answers again. With the recording fixture add-on in a real runner process.
@Suite struct ReliabilityAddonTests {
    static let addonID = "com.example.recorder"

    /// A fail-closed isolated recorder that only checks sends (no asynchronous events, so every
    /// request its runner gets is a check).
    static func checkingAddon(timeoutMs: Int = 300) async throws -> URL {
        try await AddonFixture.recorder(
            in: FileManager.default.temporaryDirectory.appendingPathComponent("sb-reliability-\(UUID().uuidString)"),
            id: addonID, fields: [("usage.to", true, false)], hooks: ["message.submit"], failureMode: "fail_closed",
            isolation: "isolated", timeoutMs: timeoutMs)
    }

    static func hostile(_ daemon: TestDaemon, _ mode: String?) throws {
        let file = daemon.directory.appendingPathComponent("addons/\(addonID)/hostile")
        if let mode { try Data(mode.utf8).write(to: file) } else { try? FileManager.default.removeItem(at: file) }
    }

    /// The ledger rows of the recorder's pre-send checks.
    static func checkShares(_ daemon: TestDaemon) async throws -> [LedgerEntry] {
        var query = Ledger.Query()
        query.addonID = addonID
        return try await daemon.daemon.ledgerEntries(query).filter { $0.eventType == "message.submit" }
    }

    /// Waits until every share recorded so far is committed: a send of an account without the
    /// add-on commits its message behind them in the same writer.
    static func flush(_ bystander: TestClient) async throws {
        #expect(try await bystander.send().status == 201)
    }

    static func status(_ daemon: TestDaemon) throws -> AddonRuntimeStatus {
        try #require(daemon.daemon.addons.registry.runtimeStatus(addonID))
    }

    @Test func onlyChecksThatReachedTheAddonAreRecordedAsShares() async throws {
        let addons = try await Self.checkingAddon()
        try await withDaemon(configure: { config in
            RunnerTests.configure(addons)(&config)
            config.addons.isolation.quarantineSeconds = 300
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]])
            let (_, bystander) = try await daemon.signUp()

            // Healthy: every check crosses, and the ledger names exactly the events the add-on saw.
            for _ in 0..<3 { #expect(try await client.send().status == 201) }
            try await Self.flush(bystander)
            let seen = AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.addonID).filter {
                $0.what == "check"
            }
            #expect(seen.count == 3)
            #expect(Set(try await Self.checkShares(daemon).map(\.eventID)) == Set(seen.map(\.eventID)))

            // Each check that reaches the runner crashes it; a send while it restarts (100 ms, then
            // 200 ms) reaches nothing. So the shares recorded meanwhile are exactly the crashes.
            try Self.hostile(daemon, "segfault")
            let sharesBefore = try await Self.checkShares(daemon).count
            let crashesBefore = try Self.status(daemon).crashes
            var refused = 0
            let quarantined = try await eventually(seconds: 30) {
                let response = try await client.send()
                #expect(response.status == 422)
                #expect(response.json["reason_code"] as? String == "addon_unavailable")
                refused += 1
                return try Self.status(daemon).state == .quarantined
            }
            #expect(quarantined)
            // The last runner's exit is seen by its reader thread, just after the refusal.
            #expect(try await eventually { try Self.status(daemon).crashes - crashesBefore == 3 })
            try await Self.flush(bystander)
            let crashes = try Self.status(daemon).crashes - crashesBefore
            let sharesDuringCrashes = try await Self.checkShares(daemon).count - sharesBefore
            #expect(sharesDuringCrashes == crashes, "\(refused) sends refused, \(crashes) crashes")

            // Quarantined: sends are refused at once and nothing is shared.
            let sharesInQuarantine = try await Self.checkShares(daemon).count
            for _ in 0..<5 {
                let response = try await client.send()
                #expect(response.status == 422)
                #expect(response.text.contains("quarantined"), "\(response.text)")
            }
            try await Self.flush(bystander)
            #expect(try await Self.checkShares(daemon).count == sharesInQuarantine)
        }
    }

    /// A check written to the runner is a share even when no answer came in time.
    @Test func aCheckThatTimedOutAfterReachingTheAddonIsRecorded() async throws {
        let addons = try await Self.checkingAddon()
        try await withDaemon(configure: RunnerTests.configure(addons)) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]])
            let (_, bystander) = try await daemon.signUp()
            try Self.hostile(daemon, "sleep")
            let refused = try await client.send()
            #expect(refused.status == 422)
            #expect(refused.json["reason_code"] as? String == "addon_unavailable")
            try await Self.flush(bystander)
            #expect(try await Self.checkShares(daemon).count == 1)
        }
    }

    // MARK: A slow host is not a broken add-on

    /// A check that misses its budget once is sent again with the same budget; its answer counts,
    /// the runner keeps serving and nothing is counted against the add-on.
    @Test func aCheckThatTimesOutOnceIsRetriedAndTheRunnerKeepsServing() async throws {
        // The first check sleeps 1 s, past its 800 ms budget; the retry waits behind it in the
        // runner and is answered at about 1 s, well within its own 800 ms.
        let addons = try await Self.checkingAddon(timeoutMs: 800)
        try await withDaemon(configure: RunnerTests.configure(addons)) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]])
            #expect(try await client.send().status == 201)
            let pid = try Self.status(daemon).pid
            try Self.hostile(daemon, "slowonce")
            let sent = try await client.send()
            #expect(sent.status == 201, "\(sent.text)")
            let status = try Self.status(daemon)
            #expect(status.checkRetries == 1, "\(status)")
            #expect(status.timeouts == 0, "\(status)")
            #expect(status.crashes == 0, "\(status)")
            #expect(status.restarts == 0, "\(status)")
            #expect(status.pid == pid)
            let metrics = try await daemon.client.get("/metrics").text
            #expect(metrics.contains("switchboard_addon_runner_check_retries{addon=\"\(Self.addonID)\"} 1"))
            #expect(metrics.contains("switchboard_addon_runner_host_slow_timeouts{addon=\"\(Self.addonID)\"} 0"))
        }
    }

    /// A quarantined add-on is probed with a check that carries no customer data, and serves again
    /// as soon as it answers one, long before its quarantine would end; while it still fails, the
    /// probes change nothing.
    @Test func aQuarantinedAddonIsBackAsSoonAsItAnswersAProbe() async throws {
        let addons = try await Self.checkingAddon()
        try await withDaemon(configure: { config in
            RunnerTests.configure(addons)(&config)
            config.addons.isolation.quarantineSeconds = 300
            config.addons.isolation.quarantineProbeSeconds = 1
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]])
            let (_, bystander) = try await daemon.signUp()
            try Self.hostile(daemon, "segfault")
            #expect(
                try await eventually(seconds: 30) {
                    _ = try await client.send()
                    return try Self.status(daemon).state == .quarantined
                })
            #expect(try await eventually { try Self.status(daemon).crashes == 3 })

            // Still broken: the probes (one a second) crash too; it stays quarantined, and a failed
            // probe is not another crash.
            try await Task.sleep(for: .milliseconds(2500))
            var status = try Self.status(daemon)
            #expect(status.state == .quarantined, "\(status)")
            #expect(status.crashes == 3, "\(status)")
            #expect(status.restarts == 2, "\(status)")
            #expect(try await client.send().status == 422)

            // Fixed: the next probe answers and the add-on serves, 300 s early.
            try Self.hostile(daemon, nil)
            #expect(try await eventually(seconds: 30) { try Self.status(daemon).state == .running })
            status = try Self.status(daemon)
            #expect(status.restarts == 3, "\(status)")
            #expect(status.quarantinedUntil == nil)
            let sharesBefore = try await Self.checkShares(daemon).count
            #expect(try await client.send().status == 201)
            try await Self.flush(bystander)
            #expect(try await Self.checkShares(daemon).count == sharesBefore + 1)

            // The probe the add-on saw carried nothing of anyone's: no account, no field.
            let probes = AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.addonID).filter {
                $0.eventID == "probe"
            }
            #expect(!probes.isEmpty)
            for probe in probes {
                #expect(probe.what == "check")
                #expect(probe.type == "message.submit")
                #expect(probe.accountID.isEmpty)
                #expect(probe.fields.isEmpty)
            }
            // And it is not a share.
            #expect(try await Self.checkShares(daemon).allSatisfy { $0.eventID != "probe" })
        }
    }

    /// `CheckTimeout.cause` from measured numbers: only a runner that was runnable, used little CPU
    /// and waited on a host with more runnable threads than cores is excused.
    @Test(arguments: [
        // (waited ms, runner CPU ms, runnable, run queue, cores, expected)
        (50, 0, true, 6, 2, CheckTimeout.Cause.hostSlow),  // starved: never got a core
        (50, 10, true, 6, 2, .hostSlow),  // one clock tick of accounting is noise at 50 ms
        (50, 20, true, 6, 2, .addon),  // two ticks of CPU and still no answer
        (50, 40, true, 6, 2, .addon),  // it burned its budget: broken or too slow
        (50, 0, true, 2, 2, .addon),  // the run queue is no longer than the cores: not a busy host
        (50, 0, true, 1, 2, .addon),  // an idle host
        (50, 0, false, 6, 2, .addon),  // asleep or blocked: waiting for itself, not for a core
        (2500, 700, true, 8, 2, .addon),  // a loop that got its share of a busy host
        (2500, 100, true, 8, 2, .hostSlow),  // a long budget starved on a busy host
    ])
    func aTimeoutIsJudgedFromWhatWasMeasured(
        waited: Int, cpu: Int, runnable: Bool, runQueue: Int, cores: Int, expected: CheckTimeout.Cause
    ) {
        let timeout = CheckTimeout(
            waited: .milliseconds(waited), runnerCPU: .milliseconds(cpu), runnerRunnable: runnable, runQueue: runQueue,
            cores: cores, clockTick: .milliseconds(10))
        #expect(timeout.cause == expected)
    }

    /// Without the measurements (no `/proc`), a timeout counts against the add-on, as it always did.
    @Test func aTimeoutWithoutEvidenceCountsAgainstTheAddon() {
        let unknown = [
            CheckTimeout(
                waited: .milliseconds(50), runnerCPU: nil, runnerRunnable: true, runQueue: 6, cores: 2,
                clockTick: .milliseconds(10)),
            CheckTimeout(
                waited: .milliseconds(50), runnerCPU: .zero, runnerRunnable: nil, runQueue: 6, cores: 2,
                clockTick: .milliseconds(10)),
            CheckTimeout(
                waited: .milliseconds(50), runnerCPU: .zero, runnerRunnable: true, runQueue: nil, cores: 2,
                clockTick: .milliseconds(10)),
        ]
        for timeout in unknown { #expect(timeout.cause == .addon) }
    }

    /// The measurements come from `/proc`, read as the kernel writes it.
    @Test func theMeasurementsAreReadFromProc() async throws {
        // A command name with spaces and parentheses does not shift the fields.
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 300 0 0 0 150 25 0 0 20 0 1 0 100 0 0"
        let parsed = try #require(HostLoad.parseStat(stat))
        #expect(parsed.cpu == HostLoad.clockTick * 175)
        #expect(!parsed.runnable)
        #expect(HostLoad.parseRunQueue("2.44 3.52 3.89 3/105 21739\n") == 3)
        #expect(HostLoad.parseStat("garbage") == nil)
        #expect(HostLoad.parseRunQueue("") == nil)
        // Real processes: one that spins is runnable and gathers CPU time, one that sleeps is not runnable.
        // SIGKILL, and reaped: a shell spinning in a loop must not outlive the test.
        let spinning = try ChildProcess("/bin/sh", ["-c", "while :; do :; done"])
        let sleeping = try ChildProcess("/bin/sleep", ["30"])
        defer {
            for child in [spinning, sleeping] {
                child.signal(SIGKILL)
                child.waitUntilExit()
            }
        }
        #expect(
            try await eventually {
                guard let sample = HostLoad.sample(pid: spinning.processIdentifier) else { return false }
                return sample.runnable && sample.cpu > .zero
            })
        #expect(
            try await eventually {
                HostLoad.sample(pid: sleeping.processIdentifier).map { !$0.runnable } ?? false
            })
        #expect(try #require(HostLoad.runQueue()) >= 1)
    }
}
