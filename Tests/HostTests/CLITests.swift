import Foundation
import Testing

/// The operator commands against a real `switchboard serve` process: they find the daemon they are
/// pointed at, exit non-zero when anything failed, and say what failed.
@Suite struct CLITests {
    static let token = "op_cli-test-token-0123456789abcdef"

    /// What one run of the `switchboard` executable printed, and how it exited.
    struct Run: CustomStringConvertible {
        let status: Int32
        let output: String
        let errors: String
        /// Wall-clock time from start to exit.
        let seconds: Double
        var description: String {
            "exit \(status) after \(seconds) s\nstdout:\n\(output)\nstderr:\n\(errors)"
        }
    }

    /// Runs the built `switchboard` with `arguments`, in an environment without the caller's
    /// `SWITCHBOARD_*` variables plus `environment`; stops it after 60 s.
    static func switchboard(_ arguments: [String], environment: [String: String] = [:]) async throws -> Run {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-cli-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outputFile = directory.appendingPathComponent("stdout")
        let errorFile = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHBOARD_") }
        for (key, value) in environment { env[key] = value }
        let started = Date()
        let process = try ChildProcess(
            DaemonProcess.executable.path, arguments, environment: env, output: outputFile.path,
            errors: errorFile.path)
        let exited = try await eventually(seconds: 60) { !process.isRunning }
        if !exited {
            process.signal(SIGTERM)
            throw TestFailure("switchboard \(arguments.joined(separator: " ")) did not exit within 60 s")
        }
        return Run(
            status: process.terminationStatus,
            output: (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "",
            errors: (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "",
            seconds: Date().timeIntervalSince(started))
    }

    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sb-cli-\(UUID().uuidString)")
    }

    /// `serve --port P` on a port other than 8080, as an operator starts it: the token is generated
    /// into the data directory.
    func serve(dataDir: URL, config: URL? = nil) async throws -> DaemonProcess {
        let port = try DaemonProcess.freePort()
        var arguments = ["serve", "--port", String(port), "--data-dir", dataDir.path, "--log-level", "warning"]
        if let config { arguments += ["--config", config.path] }
        let daemon = try DaemonProcess(arguments: arguments, port: port)
        try await daemon.waitUntilHealthy()
        return daemon
    }

    @Test func statusAndReloadReachTheDaemonTheyArePointedAt() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        let daemon = try await serve(dataDir: data)
        defer { daemon.kill(SIGKILL) }
        let url = "http://127.0.0.1:\(daemon.port)"
        #expect(daemon.port != 8080)

        // The data directory alone: the daemon recorded where it listens, and its token is there.
        let byDataDir = try await Self.switchboard(["addons", "status", "--data-dir", data.path])
        #expect(byDataDir.status == 0, "\(byDataDir)")
        #expect(byDataDir.output.contains("com.switchboard.reporting 1.1.0"), "\(byDataDir)")
        #expect(
            (try? String(contentsOf: data.appendingPathComponent("daemon.url"), encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) == url)

        // Elsewhere, with the token given: --url, --port, SWITCHBOARD_URL.
        let elsewhere = directory.appendingPathComponent("elsewhere").path
        let token = try String(contentsOf: data.appendingPathComponent("secrets/operator-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let withToken = ["SWITCHBOARD_OPERATOR_TOKEN": token]
        for (arguments, environment) in [
            (["--url", url], withToken),
            (["--url", url + "/"], withToken),
            (["--port", String(daemon.port)], withToken),
            (["--host", "127.0.0.1", "--port", String(daemon.port)], withToken),
            ([], withToken.merging(["SWITCHBOARD_URL": url]) { $1 }),
        ] {
            let run = try await Self.switchboard(
                ["addons", "status", "--data-dir", elsewhere] + arguments, environment: environment)
            #expect(run.status == 0, "\(arguments) \(environment.keys.sorted()): \(run)")
            #expect(run.output.contains("com.switchboard.reporting 1.1.0"), "\(run)")
        }

        let reload = try await Self.switchboard(
            ["addons", "reload", "reporting", "--url", url, "--data-dir", elsewhere], environment: withToken)
        #expect(reload.status == 0, "\(reload)")
        #expect(reload.output.contains("com.switchboard.reporting: 1.1.0 -> 1.1.0"), "\(reload)")

        // A clean stop takes the recorded address away with it.
        daemon.kill(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("daemon.url").path))
    }

    /// `addons validate --json` answers in JSON even when it cannot start: a tool parsing its
    /// output gets the reason, not a usage text.
    @Test func validateWithoutARunnerSaysSoInJSON() async throws {
        let missing = "/nonexistent/switchboard-addon-runner"
        let plain = try await Self.switchboard(["addons", "validate", "--runner", missing, "addon.json"])
        #expect(plain.status == 64, "\(plain)")
        #expect(plain.errors.contains("no runner at \(missing)"), "\(plain)")
        let run = try await Self.switchboard(["addons", "validate", "--json", "--runner", missing, "addon.json"])
        #expect(run.status == 64, "\(run)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], "\(run)")
        #expect(object["passed"] as? Bool == false)
        #expect(object["manifest"] as? String == "addon.json")
        #expect((object["error"] as? String)?.contains("no runner at \(missing)") == true)
        #expect((object["rules"] as? [Any])?.isEmpty == true)
        // A directory passes access(2)'s execute check; it is still a setup mistake, not the add-on's.
        let directory = try await Self.switchboard(["addons", "validate", "--runner", "/tmp", "addon.json"])
        #expect(directory.status == 64, "\(directory)")
        #expect(directory.errors.contains("--runner /tmp is a directory"), "\(directory)")
    }

    /// A name with a line break cannot forge a line of `accounts list`: each account is one line.
    @Test func accountsListKeepsEachAccountOnOneLine() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let created = try await Self.switchboard(
            [
                "accounts", "create", "--data-dir", directory.path, "--name", "Eve\nacc_FAKE  active  boss@example.com",
                "--email", "eve@example.com",
            ], environment: ["SWITCHBOARD_PASSWORD": "plum-harbor-violet-42"])
        #expect(created.status == 0, "\(created)")
        let listed = try await Self.switchboard(["accounts", "list", "--data-dir", directory.path])
        #expect(listed.status == 0, "\(listed)")
        #expect(listed.output.split(separator: "\n").count == 1, "\(listed)")
        #expect(listed.output.contains(#"Eve\u{A}acc_FAKE"#), "\(listed)")
    }

    @Test func eachFailureSaysWhatFailedAndExitsNonZero() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        let daemon = try await serve(dataDir: data)
        defer { daemon.kill(SIGKILL) }
        let url = "http://127.0.0.1:\(daemon.port)"
        let elsewhere = directory.appendingPathComponent("elsewhere").path

        // Nobody listens.
        let free = try DaemonProcess.freePort()
        let unreachable = try await Self.switchboard(
            ["addons", "status", "--url", "http://127.0.0.1:\(free)", "--data-dir", elsewhere],
            environment: ["SWITCHBOARD_OPERATOR_TOKEN": Self.token])
        #expect(unreachable.status == 1, "\(unreachable)")
        #expect(unreachable.errors.contains("no daemon answers at http://127.0.0.1:\(free)"), "\(unreachable)")
        #expect(unreachable.errors.contains("connection refused"), "\(unreachable)")
        #expect(unreachable.errors.contains("--url"), "\(unreachable)")

        // Nobody listens where the configuration says, and nothing was recorded: the message says so.
        let configured = try await Self.switchboard(
            ["addons", "reload", "reporting", "--data-dir", elsewhere],
            environment: ["SWITCHBOARD_OPERATOR_TOKEN": Self.token, "SWITCHBOARD_PORT": String(free)])
        #expect(configured.status == 1, "\(configured)")
        #expect(configured.errors.contains("the configuration's host and port"), "\(configured)")
        // A refused connection is the answer at once, not retried until reload's 30 s deadline.
        #expect(configured.seconds < 10, "\(configured)")

        // A token of another daemon.
        let refused = try await Self.switchboard(
            ["addons", "status", "--url", url, "--data-dir", elsewhere],
            environment: ["SWITCHBOARD_OPERATOR_TOKEN": Self.token])
        #expect(refused.status == 1, "\(refused)")
        #expect(
            refused.errors.contains(
                "refused the operator token from SWITCHBOARD_OPERATOR_TOKEN (401 Operator token required)"),
            "\(refused)")

        // No token at all.
        let tokenless = try await Self.switchboard(["addons", "status", "--url", url, "--data-dir", elsewhere])
        #expect(tokenless.status == 1, "\(tokenless)")
        #expect(tokenless.errors.contains("no operator token"), "\(tokenless)")
        #expect(tokenless.errors.contains("SWITCHBOARD_OPERATOR_TOKEN"), "\(tokenless)")

        // The daemon's own problem document.
        let unknown = try await Self.switchboard(["addons", "reload", "no-such-addon", "--data-dir", data.path])
        #expect(unknown.status == 1, "\(unknown)")
        #expect(
            unknown.errors.contains(
                "POST http://127.0.0.1:\(daemon.port)/v1/admin/addons/no-such-addon/reload: the daemon answered 404 Unknown add-on: no add-on with this id is loaded"
            ), "\(unknown)")

        // A URL that is not one is a usage error.
        let malformed = try await Self.switchboard(["addons", "status", "--url", "ftp://127.0.0.1"])
        #expect(malformed.status == 64, "\(malformed)")
        #expect(malformed.errors.contains("--url must be an http:// or https:// URL"), "\(malformed)")

        for run in [unreachable, configured, refused, tokenless, unknown, malformed] {
            #expect(!run.errors.contains("invalid configuration"), "\(run)")
        }
    }

    @Test func aRefusedManifestMakesListAndStatusExitOneNamingItAndWhy() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let addons = directory.appendingPathComponent("addons")
        try FileManager.default.createDirectory(at: addons, withIntermediateDirectories: true)
        let broken = addons.appendingPathComponent("com.example.broken.json")
        try Data(#"{"manifest_version": 2}"#.utf8).write(to: broken)
        let data = directory.appendingPathComponent("data")

        let clean = try await Self.switchboard(["addons", "list", "--data-dir", data.path])
        #expect(clean.status == 0, "\(clean)")
        #expect(!clean.output.contains("FAILED"), "\(clean)")

        let list = try await Self.switchboard(["addons", "list", "--data-dir", data.path, "--addons-dir", addons.path])
        #expect(list.status == 1, "\(list)")
        #expect(list.output.contains("loaded  com.switchboard.reporting"), "\(list)")
        #expect(list.output.contains("FAILED  \(broken.path)"), "\(list)")
        #expect(list.errors.contains("1 add-on manifest was refused"), "\(list)")
        #expect(list.errors.contains("\(broken.path): "), "\(list)")
        #expect(list.errors.contains("manifest_version"), "\(list)")

        let config = directory.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: ["addons": ["dirs": [addons.path]]]).write(to: config)
        let daemon = try await serve(dataDir: data, config: config)
        defer { daemon.kill(SIGKILL) }
        let status = try await Self.switchboard(["addons", "status", "--data-dir", data.path])
        #expect(status.status == 1, "\(status)")
        #expect(status.output.contains("com.switchboard.reporting 1.1.0"), "\(status)")
        #expect(status.errors.contains("1 add-on manifest was refused"), "\(status)")
        #expect(status.errors.contains("\(broken.path): "), "\(status)")
    }

    @Test func aQuarantinedAddonMakesStatusExitOne() async throws {
        let addons = try await RunnerTests.hostileAddon(failureMode: "fail_closed")
        defer { try? FileManager.default.removeItem(at: addons) }
        try await withDaemon(configure: { config in
            RunnerTests.configure(addons)(&config)
            config.addons.isolation.quarantineSeconds = 120
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]])
            try Data("segfault".utf8).write(
                to: daemon.directory.appendingPathComponent("addons/com.example.recorder/hostile"))
            let quarantined = try await eventually(seconds: 15) {
                _ = try await client.send()
                return daemon.daemon.addons.registry.runtimeStatus("com.example.recorder")?.state == .quarantined
            }
            #expect(quarantined)
            let status = try await Self.switchboard(
                ["addons", "status", "--url", daemon.baseURL, "--data-dir", daemon.directory.path],
                environment: ["SWITCHBOARD_OPERATOR_TOKEN": daemon.daemon.operatorToken])
            #expect(status.status == 1, "\(status)")
            #expect(status.output.contains("com.example.recorder 1.0.0  isolated  quarantined"), "\(status)")
            #expect(
                status.errors.contains(
                    "quarantined after repeated failures (see `last failure` above): com.example.recorder"),
                "\(status)")
        }
    }

    /// A data directory with no database (a mistyped `--data-dir`) is named, never read as an empty
    /// ledger or account list, and nothing is created there.
    @Test func aDataDirectoryWithoutADatabaseIsNamedNotReadAsEmpty() async throws {
        let missing = temporaryDirectory().appendingPathComponent("mistyped")
        let runs = [
            try await Self.switchboard(["audit", "query", "--addon", "reporting", "--data-dir", missing.path]),
            try await Self.switchboard(["audit", "query", "--summary", "--data-dir", missing.path]),
            try await Self.switchboard(["audit", "export", "--account", "acc_x", "--data-dir", missing.path]),
            try await Self.switchboard(["accounts", "list", "--data-dir", missing.path]),
        ]
        for run in runs {
            #expect(run.status != 0, "\(run)")
            #expect(run.errors.contains("switchboard.sqlite does not exist"), "\(run)")
            #expect(run.output.isEmpty, "\(run)")
        }
        #expect(!FileManager.default.fileExists(atPath: missing.path))
    }

    /// `accounts create` keeps the rules of POST /v1/accounts and names every broken one before
    /// anything is written.
    @Test func accountsCreateKeepsTheRulesOfSignUp() async throws {
        let data = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let password = ["SWITCHBOARD_PASSWORD": "granite-otter-basil-92"]
        let refused = try await Self.switchboard(
            ["accounts", "create", "--name", " ", "--email", "x y@@", "--company", "a\u{7}b", "--data-dir", data.path],
            environment: password)
        #expect(refused.status == 64, "\(refused)")
        for named in [
            "--name must not be blank", "--email must be an email address", "--company must not contain U+0007",
        ] {
            #expect(refused.errors.contains(named), "\(refused)")
        }
        #expect(!FileManager.default.fileExists(atPath: data.path), "\(refused)")
        let created = try await Self.switchboard(
            ["accounts", "create", "--name", "Ada", "--email", "ada@example.com", "--data-dir", data.path],
            environment: password)
        #expect(created.status == 0 && created.output.contains("account_id: acc_"), "\(created)")
    }

    /// A mistyped command is named with the one meant, not read as `serve` with stray words or as
    /// its group with an unknown option.
    @Test func aMistypedCommandIsNamedWithTheOneMeant() async throws {
        let top = try await Self.switchboard(["acounts", "list"])
        #expect(top.status == 64, "\(top)")
        #expect(
            top.errors.contains("unknown command `switchboard acounts`; did you mean `switchboard accounts`?"), "\(top)"
        )
        let nested = try await Self.switchboard(["audit", "verfy", "--data-dir", "/nonexistent"])
        #expect(nested.status == 64, "\(nested)")
        #expect(nested.errors.contains("did you mean `switchboard audit verify`?"), "\(nested)")
        #expect(nested.errors.contains("query, verify, key"), "\(nested)")
        let unknown = try await Self.switchboard(["frobnicate"])
        #expect(unknown.status == 64 && !unknown.errors.contains("did you mean"), "\(unknown)")
        #expect(unknown.errors.contains("unknown command `switchboard frobnicate`. The commands of"), "\(unknown)")
        #expect(try await Self.switchboard(["help", "audit"]).status == 0)
    }

    /// `addons check` of a manifest that cannot be loaded says why on standard error and exit 1,
    /// leaving standard output to the `ok:` report alone.
    @Test func aCheckThatFailsWritesItsProblemsToStandardError() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("sb-none-\(UUID().uuidString).json")
        let run = try await Self.switchboard(["addons", "check", missing.path])
        #expect(run.status == 1, "\(run)")
        #expect(run.errors.contains("\(missing.path) cannot be loaded:"), "\(run)")
        #expect(run.output.isEmpty, "\(run)")
    }
}
