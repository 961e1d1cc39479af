import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// The hostile add-on suite: add-ons that crash, hang, flood stdout, answer garbage or lie about who
/// they are, run isolated in their own runner process, while the daemon keeps serving.
@Suite struct RunnerTests {
    static func hostileAddon(
        failureMode: String = "fail_open", timeoutMs: Int = 300, id: String = "com.example.recorder",
        defines: [String] = []
    )
        async throws -> URL
    {
        try await AddonFixture.recorder(
            in: FileManager.default.temporaryDirectory.appendingPathComponent("sb-hostile-\(UUID().uuidString)"),
            id: id,
            fields: [("usage.to", true, false), ("usage.status", false, false), ("content.body", false, false)],
            hooks: ["message.submit", "message.status"], failureMode: failureMode, defines: defines,
            isolation: "isolated",
            timeoutMs: timeoutMs)
    }

    static func configure(_ addons: URL) -> (inout ServeConfiguration) -> Void {
        { config in
            config.addons.directories = [addons.path]
            config.addons.isolation.quarantineSeconds = 2
            config.addons.isolation.maxFailures = 3
            config.addons.isolation.eventTimeoutMs = 1000
            config.addons.isolation.addressSpaceMB = 512
            config.rateLimits.sendBurst = 1000
        }
    }

    func hostile(_ daemon: TestDaemon, _ mode: String?) throws {
        let file = daemon.directory.appendingPathComponent("addons/com.example.recorder/hostile")
        if let mode { try Data(mode.utf8).write(to: file) } else { try? FileManager.default.removeItem(at: file) }
    }

    @Test(arguments: ["segfault", "abort", "leak", "loop", "sleep"])
    func aMisbehavingAddonNeverStopsTheDaemonOrLosesAMessage(mode: String) async throws {
        try await withDaemon(configure: Self.configure(try await Self.hostileAddon())) { daemon in
            #expect(daemon.daemon.addons.registry.isolation("com.example.recorder") == .isolated)
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage", "content"]])
            try hostile(daemon, mode)
            // Hundreds of messages from 8 concurrent senders while the add-on misbehaves.
            let accepted = try await withThrowingTaskGroup(of: [String].self) { group in
                for sender in 0..<8 {
                    group.addTask {
                        var ids: [String] = []
                        for index in 0..<25 {
                            let response = try await client.send(body: "message \(sender)-\(index)")
                            // fail_open: a broken check lets the message through, and it is counted.
                            #expect(response.status == 201, "\(mode): \(response.text)")
                            if let id = response.json["id"] as? String { ids.append(id) }
                        }
                        return ids
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(accepted.count == 200)
            #expect(try await daemon.client.get("/healthz").status == 200)
            let status = try #require(daemon.daemon.addons.registry.runtimeStatus("com.example.recorder"))
            #expect(status.crashes + status.timeouts > 0, "\(status)")
            #expect(status.lastFailure != nil)
            // Every accepted message reaches its final status regardless of the add-on.
            #expect(
                try await eventually(seconds: 15) {
                    try await client.get("/v1/messages?limit=200").data.filter {
                        $0["status"] as? String == "delivered"
                    }.count == accepted.count
                })
            let metrics = try await daemon.client.get("/metrics").text
            #expect(metrics.contains("switchboard_addon_fail_open_passes_total{addon=\"com.example.recorder\"}"))

            // Once it behaves again, the events owed to it arrive (after any quarantine).
            try hostile(daemon, nil)
            #expect(
                try await eventually(seconds: 20) {
                    Set(
                        AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder")
                            .filter { $0.fields["usage.status"] == "text:delivered" }.map(\.eventID)
                    ).count == accepted.count
                })
            #expect(try await eventually { try await outboxCount(daemon) == 0 })
        }
    }

    /// A runner started while customers' connections are open holds none of them (only its own
    /// socket, fd 3): otherwise the daemon's close of a connection would send no FIN while the
    /// runner lives. The connection here is held open while a crash makes the runner start again.
    @Test func aRestartedRunnerHoldsNoneOfTheDaemonsConnections() async throws {
        try await withDaemon(configure: Self.configure(try await Self.hostileAddon())) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage", "content"]])
            let held = try RawConnection(port: daemon.port)
            held.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            // The daemon's own status names its runner: other tests' runners, which start and end
            // in parallel, are children of this test process too.
            let before = daemon.daemon.addons.registry.runtimeStatus("com.example.recorder")?.pid
            try hostile(daemon, "segfault")
            _ = try await client.send(body: "makes the runner crash")
            try hostile(daemon, nil)
            var restarted: Int32?
            #expect(
                try await eventually(seconds: 20) {
                    let status = daemon.daemon.addons.registry.runtimeStatus("com.example.recorder")
                    restarted = status?.pid
                    return status?.restarts ?? 0 >= 1 && restarted != nil && restarted != before
                })
            if let pid = restarted {
                let directory = "/proc/\(pid)/fd"
                let sockets = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)"))?.hasPrefix(
                        "socket:") == true
                }
                #expect(sockets == ["3"], "runner \(pid) holds sockets \(sockets)")
            }
            _ = held
        }
    }

    /// `cpu_seconds` limits a runner's CPU time, and its default 0 means no limit (not one second).
    @Test(arguments: [0, 1])
    func theCPULimitBindsOnlyWhenSet(cpuSeconds: Int) async throws {
        // Without a limit the check spins until the daemon's 2.5 s budget ends; with a one-second
        // limit the kernel stops it first, however loaded the machine (a 10 s budget).
        let addons = try await Self.hostileAddon(timeoutMs: cpuSeconds == 0 ? 2500 : 10_000)
        try await withDaemon(configure: { config in
            Self.configure(addons)(&config)
            config.addons.isolation.cpuSeconds = cpuSeconds
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]])
            try hostile(daemon, "loop")
            #expect(try await client.send().status == 201)  // fail_open
            #expect(
                try await eventually {
                    daemon.daemon.addons.registry.runtimeStatus("com.example.recorder")?.lastFailure != nil
                })
            let status = try #require(daemon.daemon.addons.registry.runtimeStatus("com.example.recorder"))
            let failure = status.lastFailure ?? ""
            if cpuSeconds == 0 {
                #expect(status.timeouts == 1, "\(status)")
                #expect(failure.contains("signal 9"), "\(failure)")
            } else {
                #expect(status.timeouts == 0, "\(status)")
                #expect(failure.contains("signal 24") || failure.contains("signal 9"), "\(failure)")
            }
        }
    }

    @Test func repeatedCrashesQuarantineTheAddonAndFailClosedBlocksSends() async throws {
        // A quarantine long enough to outlast the checks below on a loaded machine.
        let configure = Self.configure(try await Self.hostileAddon(failureMode: "fail_closed"))
        try await withDaemon(configure: {
            configure(&$0)
            $0.addons.isolation.quarantineSeconds = 6
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]])
            try hostile(daemon, "segfault")
            // Each send crashes the runner or finds it restarting; both refuse the message.
            let quarantined = try await eventually(seconds: 15) {
                let blocked = try await client.send()
                #expect(blocked.status == 422)
                #expect(blocked.json["reason_code"] as? String == "addon_unavailable")
                return daemon.daemon.addons.registry.runtimeStatus("com.example.recorder")?.state == .quarantined
            }
            #expect(quarantined)
            let status = try #require(daemon.daemon.addons.registry.runtimeStatus("com.example.recorder"))
            #expect(status.state == .quarantined)
            #expect(status.lastFailure?.contains("signal 11") == true)
            let admin = try await daemon.admin.get("/v1/admin/addons")
            #expect(admin.text.contains("quarantined"))
            let metrics = try await daemon.client.get("/metrics").text
            #expect(metrics.contains("switchboard_addon_quarantined{addon=\"com.example.recorder\"} 1"))
            #expect(metrics.contains("switchboard_addon_runner_crashes{addon=\"com.example.recorder\"}"))
            #expect(metrics.contains("switchboard_addon_in_flight{addon=\"com.example.recorder\"}"))
            // The operator is told, in the log, why the add-on stopped receiving.
            #expect(daemon.logs.contains("add-on quarantined after repeated failures", atLeast: .error))
            try hostile(daemon, nil)
            #expect(try await eventually(seconds: 20) { try await client.send().status == 201 })
            #expect(daemon.daemon.addons.registry.runtimeStatus("com.example.recorder")?.restarts ?? 0 >= 1)
        }
    }

    @Test func strayOutputNeverCorruptsTheProtocol() async throws {
        try await withDaemon(configure: Self.configure(try await Self.hostileAddon(timeoutMs: 5000))) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage", "content"]])
            try hostile(daemon, "stdout")
            #expect(try await client.send(body: "BLOCKME please").json["reason_code"] as? String == "test_block")
            #expect(try await client.send(body: "fine").status == 201)
            #expect(daemon.daemon.addons.registry.runtimeStatus("com.example.recorder")?.crashes == 0)
        }
    }

    @Test func anInvalidVerdictFollowsTheFailureMode() async throws {
        try await withDaemon(configure: Self.configure(try await Self.hostileAddon(failureMode: "fail_closed"))) {
            daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]])
            try hostile(daemon, "badverdict")
            let refused = try await client.send()
            #expect(refused.status == 422)
            #expect(refused.text.contains("invalid verdict"))
        }
    }

    @Test func anIsolatedAddonThatLiesAboutItselfIsRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-liars-\(UUID().uuidString)")
        try await AddonFixture.recorder(
            in: directory, id: "com.example.impostor", fields: [("usage.to", true, false)],
            manifestID: "com.example.claimed",
            isolation: "isolated")
        try await AddonFixture.recorder(
            in: directory, id: "com.example.abi", fields: [("usage.to", true, false)], defines: ["ABI_MAJOR=2"],
            isolation: "isolated")
        try await withDaemon(configure: Self.configure(directory)) { daemon in
            let problems = daemon.daemon.addons.registry.problems
            #expect(
                problems.contains {
                    $0.file.hasSuffix("com.example.claimed.json") && $0.reason.contains("may not claim another's id")
                })
            #expect(
                problems.contains { $0.file.hasSuffix("com.example.abi.json") && $0.reason.contains("ABI major 2") })
            let health = try await daemon.client.get("/healthz")
            #expect(health.status == 200)
        }
    }
}
