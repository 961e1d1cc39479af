import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// The real executable: crash safety, clean shutdown and configuration errors.
@Suite(.serialized) struct ProcessTests {
    static let token = "op_test-token-0123456789abcdef"

    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sb-proc-\(UUID().uuidString)")
    }

    func writeConfig(_ json: String, in directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("config.json")
        try Data(json.utf8).write(to: url)
        return url
    }

    @Test func acknowledgedMessagesSurviveKill9AndAreDeliveredAfterRestart() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Slow carrier: at the kill, messages are still queued or sent.
        let slow = try writeConfig(
            #"{"simulator": {"latency_ms": 600000}, "password_cost": 10}"#, in: directory.appendingPathComponent("slow")
        )
        let daemon = try DaemonProcess.serve(dataDir: directory, config: slow, token: Self.token)
        defer { daemon.kill(SIGKILL) }
        try await daemon.waitUntilHealthy()
        let signUp = try await daemon.client.post(
            "/v1/accounts", json: ["name": "K", "email": "kill@example.com", "password": "plum-harbor-violet-42"])
        let accountID = try #require(signUp.json["account_id"] as? String)
        let key = try #require(signUp.json["api_key"] as? String)
        let client = TestClient(baseURL: daemon.client.baseURL, basic: (accountID, key))

        let ids = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<60 {
                group.addTask {
                    let response = try await client.send(body: "durable \(index)")
                    return response.status == 201 ? response.json["id"] as? String : nil
                }
            }
            var ids: [String] = []
            for try await id in group { if let id { ids.append(id) } }
            return ids
        }
        #expect(ids.count == 60)
        daemon.kill(SIGKILL)
        #expect(try await daemon.waitForExit() != 0)

        let fast = try writeConfig(
            #"{"simulator": {"latency_ms": 5}, "password_cost": 10}"#, in: directory.appendingPathComponent("fast"))
        let restarted = try DaemonProcess.serve(dataDir: directory, config: fast, token: Self.token)
        defer { restarted.kill(SIGKILL) }
        try await restarted.waitUntilHealthy()
        let after = TestClient(baseURL: restarted.client.baseURL, basic: (accountID, key))
        for id in ids {
            #expect(try await after.get("/v1/messages/\(id)").status == 200)
        }
        #expect(
            try await eventually(seconds: 30) {
                try await after.get("/v1/messages?limit=100").data.filter { $0["status"] as? String == "delivered" }
                    .count == 60
            })
        restarted.kill(SIGTERM)
        #expect(try await restarted.waitForExit() == 0)
    }

    @Test func sigtermDrainsAndExitsCleanly() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let daemon = try DaemonProcess.serve(dataDir: directory, token: Self.token)
        defer { daemon.kill(SIGKILL) }
        try await daemon.waitUntilHealthy()
        #expect(try await daemon.client.get("/healthz").status == 200)
        daemon.kill(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    @Test func aBadConfigurationNamesTheFieldAndTheFix() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try writeConfig(#"{"port": "eighty", "retention_days": 900, "rate_limit": {}}"#, in: directory)
        let process = try DaemonProcess(
            arguments: ["serve", "--config", config.path, "--data-dir", directory.path], port: 0)
        #expect(try await process.waitForExit() != 0)
        let output = process.errorOutput()
        #expect(output.contains("port: must be a whole number"))
        #expect(output.contains("retention_days: must be between 1 and 365"))
        #expect(output.contains("rate_limit: is not a known setting"))
    }

    /// An audit of an add-on nobody knows is an error naming the known ones (exit 2), never an
    /// empty answer; a known add-on by its short id answers.
    @Test func anAuditOfAnUnknownAddonIsAnErrorNotAnEmptyAnswer() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let typo = try DaemonProcess(
            arguments: ["audit", "query", "--data-dir", directory.path, "--addon", "reportnig"], port: 0)
        #expect(try await typo.waitForExit() == 2)
        let output = typo.errorOutput()
        #expect(output.contains("--addon reportnig is neither loaded nor in the ledger"), "\(output)")
        #expect(output.contains("com.switchboard.reporting"), "\(output)")
        // A directory with a database, as serve leaves it: without one the audit names the file.
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("switchboard.sqlite").path, durability: .normal,
            migrations: DaemonSchema.migrations
        ).close()
        let known = try DaemonProcess(
            arguments: ["audit", "query", "--data-dir", directory.path, "--addon", "reporting"], port: 0)
        #expect(try await known.waitForExit() == 0)
    }

    /// An audit filtered by an account or a field nobody knows is an error naming it, never an
    /// empty answer: a mistyped account id exits 2 (in `audit query` and `audit export`), a field id
    /// outside the catalogue 64.
    @Test func anAuditOfAnUnknownAccountOrFieldIsAnErrorNotAnEmptyAnswer() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try await Self.createAccount(in: directory, name: "Audited", email: "a@example.com") == 0)
        let accountID = try await withDaemon(configure: { $0.dataDir = directory.path }) { daemon in
            try await daemon.daemon.accounts.list().first?.id
        }
        let typo = try DaemonProcess(
            arguments: ["audit", "query", "--data-dir", directory.path, "--account", "acc_nope"], port: 0)
        #expect(try await typo.waitForExit() == 2)
        #expect(typo.errorOutput().contains("--account acc_nope is neither an account nor in the ledger"))
        // The access report of an account that is not one is the same not-found error.
        let report = try DaemonProcess(
            arguments: ["audit", "export", "--data-dir", directory.path, "--account", "acc_nope"], port: 0)
        #expect(try await report.waitForExit() == 2)
        #expect(report.errorOutput().contains("--account acc_nope is not an account"), "\(report.errorOutput())")
        let field = try DaemonProcess(
            arguments: ["audit", "query", "--data-dir", directory.path, "--field", "usage.too"], port: 0)
        #expect(try await field.waitForExit() == 64)
        #expect(field.errorOutput().contains("--field must be a field id"), "\(field.errorOutput())")
        let known = try DaemonProcess(
            arguments: ["audit", "query", "--data-dir", directory.path, "--account", accountID ?? "none"], port: 0)
        #expect(try await known.waitForExit() == 0)
        // Filters that can select nothing are mistakes: named with exit 64, as the HTTP audit names them.
        for (arguments, expected) in [
            (["--since", "2026-02-30T00:00:00Z"], "--since must be an RFC 3339 time"),
            (["--since", "2026-12-03T25:00:00Z"], "--since must be an RFC 3339 time"),
            (
                ["--since", "2026-12-31T00:00:00Z", "--until", "2026-01-01T00:00:00Z"],
                "--until must be later than since"
            ),
            (["--limit", "0"], "--limit must be at least 1"),
            (["--limit", "-5"], "--limit must be at least 1 (got -5)"),
            (["--addon", "reporting", "--addon", "monitoring"], "--addon is given 2 times; give it once"),
        ] {
            let refused = try DaemonProcess(
                arguments: ["audit", "query", "--data-dir", directory.path] + arguments, port: 0)
            #expect(try await refused.waitForExit() == 64, "\(arguments)")
            #expect(refused.errorOutput().contains(expected), "\(refused.errorOutput())")
        }
    }

    /// A binary copied away from its build, started where there is no `Manifests/`, says that it
    /// found no bundled add-ons and what to set, instead of running without them in silence.
    @Test func aBinaryThatFindsNoBundledAddonsSaysSo() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bin = directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let copy = bin.appendingPathComponent("switchboard")
        try FileManager.default.copyItem(at: DaemonProcess.executable, to: copy)
        let port = try DaemonProcess.freePort()
        let errors = directory.appendingPathComponent("stderr").path
        var environment = ProcessInfo.processInfo.environment
        environment["SWITCHBOARD_OPERATOR_TOKEN"] = "operator-token-for-the-copied-binary"
        let daemon = try ChildProcess(
            "/bin/sh",
            [
                "-c", #"cd "$0" && exec "$1" serve --port "$2" --data-dir "$0/data" --log-level warning"#,
                directory.path, copy.path, String(port),
            ], environment: environment, errors: errors)
        defer {
            daemon.signal(SIGTERM)
            daemon.waitUntilExit()
        }
        let client = TestClient(baseURL: "http://127.0.0.1:\(port)")
        let healthy = try await eventually(seconds: 30) { (try? await client.get("/healthz").status) == 200 }
        #expect(healthy)
        let log = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errors))) ?? Data(), as: UTF8.self)
        #expect(log.contains("no bundled add-ons found; set addons.bundled_dir"), "\(log)")
        // `addons list` from the same binary says why it lists nothing, instead of printing nothing.
        let listErrors = directory.appendingPathComponent("list-stderr").path
        let list = try ChildProcess(
            "/bin/sh",
            ["-c", #"cd "$0" && exec "$1" addons list --data-dir "$0/list-data""#, directory.path, copy.path],
            environment: environment, errors: listErrors)
        list.waitUntilExit()
        let listed = String(
            decoding: (try? Data(contentsOf: URL(fileURLWithPath: listErrors))) ?? Data(), as: UTF8.self)
        #expect(listed.contains("no add-ons found: no bundled add-ons found"), "\(listed)")
        #expect(listed.contains("set addons.bundled_dir"), "\(listed)")
    }

    /// A second `serve` on a data directory another daemon is serving refuses to start, naming the
    /// directory and what to do, and leaves the first one serving; once the first is gone (even by
    /// SIGKILL, which leaves no chance to clean up) a new one starts.
    @Test func aSecondDaemonOnTheSameDataDirectoryRefusesToStart() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try DaemonProcess.serve(dataDir: directory, token: "operator-token-for-the-first-daemon")
        try await first.waitUntilHealthy()
        let second = try DaemonProcess.serve(dataDir: directory, token: "operator-token-for-the-second-daemon")
        #expect(try await second.waitForExit() == 64)
        let refusal = second.errorOutput()
        #expect(refusal.contains("another switchboard serve is running on"), "\(refusal)")
        #expect(refusal.contains("give this one its own --data-dir"), "\(refusal)")
        #expect(try await first.client.get("/healthz").status == 200)
        first.kill(SIGKILL)
        _ = try await first.waitForExit()
        let third = try DaemonProcess.serve(dataDir: directory, token: "operator-token-for-the-third-daemon")
        defer { third.kill(SIGKILL) }
        try await third.waitUntilHealthy()
    }

    /// Runs `switchboard accounts create` on the data directory `directory`; returns its exit status.
    static func createAccount(in directory: URL, name: String, email: String) async throws -> Int32 {
        let create = try DaemonProcess(
            arguments: ["accounts", "create", "--data-dir", directory.path, "--name", name, "--email", email],
            port: 0, environment: ["SWITCHBOARD_PASSWORD": "plum-harbor-violet-42"])
        return try await create.waitForExit()
    }

    @Test func theAccountsCommandCreatesAnAccountTheDaemonAccepts() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try await Self.createAccount(in: directory, name: "Cli", email: "cli@example.com") == 0)
        let accounts = try await withDaemon(configure: { $0.dataDir = directory.path }) { daemon in
            try await daemon.daemon.accounts.list()
        }
        #expect(accounts.map(\.email) == ["cli@example.com"])
    }
}
