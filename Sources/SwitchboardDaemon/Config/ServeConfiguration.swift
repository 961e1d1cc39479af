import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardSMPP

/// Everything `switchboard serve` can be told. Defaults are safe for a single machine: loopback only,
/// data in `./data`, a generated operator token.
public struct ServeConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDir = "./data"
    /// Days activity logs (API requests, logins) are kept; the privacy policy allows at most a year.
    public var retentionDays = 365
    public var durability = Durability.normal
    /// Bearer token for `/v1/admin/...`; generated into the data directory when not set.
    public var operatorToken: String?
    public var maxBodyBytes = 64 * 1024
    public var rateLimits = RateLimits()
    public var simulator = SimulatorSettings()
    public var callbacks = CallbackSettings()
    /// log2 of scrypt's N for password hashing.
    public var passwordCost = 15
    public var addons = AddonSettings()
    public var ledger = LedgerSettings()
    /// Proxies whose `X-Forwarded-For` is believed (CIDR networks); see `ClientAddressResolver`.
    public var trustedProxies: [String] = []
    public var passwordHashing = PasswordHashing()
    public var sessions = Sessions()
    public var http = HTTP()
    public var console = Console()
    /// SMSCs messages leave through, in routing order; empty: the built-in simulator.
    public var smppConnectors: [SMPPConnectorSettings] = []
    /// The SMPP server for customers' ESMEs; off unless a port is set.
    public var smppServer = SMPPServerSettings()
    /// The SMPP server's TLS listener's certificate (`smpp_server.tls`); its port is
    /// `smppServer.tlsPort`.
    public var smppServerTLS: TLSFiles?

    public struct RateLimits: Sendable, Equatable {
        public var sendPerSecond: Double = 100
        public var sendBurst = 200
        public var authFailures = 10
        public var authWindowSeconds = 300
        /// Sign-ups (created or refused as taken) per client address and window.
        public var signupsPerAddress = 20
        public var signupWindowSeconds = 3600
        public init() {}
    }

    public init() {}
}

extension ServeConfiguration {
    /// Reads a JSON config file over the defaults. Unknown keys are errors: a typo must not be ignored.
    public static func load(file path: String) throws -> ServeConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(
                source: path,
                problems: [
                    FieldError(
                        "file", "\(FileReadProblem.reason(path, error)); check the path given to --config")
                ])
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse([UInt8](data))
        } catch {
            throw ConfigurationError(
                source: path,
                problems: [
                    FieldError("file", "is not valid JSON at byte \(error.offset); check quotes, commas and braces")
                ])
        }
        var reader = ConfigReader(value, path: "")
        var config = ServeConfiguration()
        config.apply(&reader)
        if !reader.errors.isEmpty { throw ConfigurationError(source: path, problems: reader.errors) }
        // The file's own values are blamed on the file, not on the variables read after it.
        try config.validate(source: path)
        return config
    }

    private mutating func apply(_ reader: inout ConfigReader) {
        reader.allow([
            "host", "port", "data_dir", "retention_days", "durability", "operator_token", "max_body_bytes",
            "rate_limits", "simulator", "callbacks", "password_cost", "addons", "ledger",
            "trusted_proxies", "password_hashing", "sessions", "http", "smpp_connectors", "smpp_server",
            "console",
        ])
        reader.string("host", into: &host)
        reader.int("port", in: 0...65535, into: &port)
        reader.string("data_dir", into: &dataDir)
        reader.int(
            "retention_days", in: 1...365, into: &retentionDays,
            hint: "the privacy policy keeps activity at most one year")
        reader.enumeration("durability", into: &durability)
        var token: String? = operatorToken
        reader.optionalString("operator_token", into: &token)
        operatorToken = token
        reader.int("max_body_bytes", in: 1024...(16 << 20), into: &maxBodyBytes)
        reader.int("password_cost", in: 10...20, into: &passwordCost)
        reader.object("rate_limits") { sub in
            sub.allow([
                "send_per_second", "send_burst", "auth_failures", "auth_window_seconds", "signups_per_address",
                "signup_window_seconds",
            ])
            sub.double("send_per_second", in: 0.01...1_000_000, into: &rateLimits.sendPerSecond)
            sub.int("send_burst", in: 1...1_000_000, into: &rateLimits.sendBurst)
            sub.int("auth_failures", in: 1...10_000, into: &rateLimits.authFailures)
            sub.int("auth_window_seconds", in: 1...86_400, into: &rateLimits.authWindowSeconds)
            sub.int("signups_per_address", in: 1...1_000_000, into: &rateLimits.signupsPerAddress)
            sub.int("signup_window_seconds", in: 1...86_400, into: &rateLimits.signupWindowSeconds)
        }
        applyAuthentication(&reader)
        applyHTTP(&reader)
        applySMPPConnectors(&reader)
        applySMPPServer(&reader)
        applyConsole(&reader)
        reader.object("simulator") { sub in
            sub.allow(["latency_ms", "failure_rate", "seed"])
            sub.int("latency_ms", in: 0...600_000, into: &simulator.latencyMs)
            sub.double("failure_rate", in: 0...1, into: &simulator.failureRate)
            var seed = Int(simulator.seed)
            sub.int("seed", in: 0...Int.max, into: &seed)
            simulator.seed = UInt64(seed)
        }
        reader.object("addons") { sub in
            sub.allow([
                "bundled_dir", "dirs", "library_dirs", "settings", "consent_file", "isolation", "sync_timeout_ms",
            ])
            var budgets: [String: String] = [:]
            if case .object(let values)? = sub.value("sync_timeout_ms") {
                for (id, value) in values {
                    if case .number(let number) = value, number >= 1, number <= 10_000 {
                        addons.syncTimeouts[id] = Int(number)
                    } else {
                        sub.record("sync_timeout_ms.\(id)", "must be a number of milliseconds from 1 to 10000")
                    }
                }
            } else if sub.value("sync_timeout_ms") != nil {
                sub.stringMap("sync_timeout_ms", into: &budgets)
            }
            sub.object("isolation") { iso in
                iso.allow([
                    "overrides", "runner_path", "address_space_mb", "cpu_seconds", "open_files", "event_timeout_ms",
                    "max_failures",
                    "failure_window_seconds", "quarantine_seconds", "quarantine_probe_seconds", "spin_us",
                ])
                var overrides: [String: String] = [:]
                iso.stringMap("overrides", into: &overrides)
                for (id, mode) in overrides {
                    if let parsed = Manifest.Isolation(rawValue: mode) {
                        addons.isolation.overrides[id] = parsed
                    } else {
                        iso.record("overrides.\(id)", "must be isolated or in_process")
                    }
                }
                var runner = addons.isolation.runnerPath
                iso.optionalString("runner_path", into: &runner)
                addons.isolation.runnerPath = runner
                iso.int("address_space_mb", in: 64...1_048_576, into: &addons.isolation.addressSpaceMB)
                iso.int("cpu_seconds", in: 0...1_000_000, into: &addons.isolation.cpuSeconds)
                iso.int("open_files", in: 16...65536, into: &addons.isolation.openFiles)
                iso.int("event_timeout_ms", in: 10...600_000, into: &addons.isolation.eventTimeoutMs)
                iso.int("max_failures", in: 1...1000, into: &addons.isolation.maxFailures)
                iso.int("failure_window_seconds", in: 1...86_400, into: &addons.isolation.failureWindowSeconds)
                iso.int("quarantine_seconds", in: 1...86_400, into: &addons.isolation.quarantineSeconds)
                iso.int(
                    "quarantine_probe_seconds", in: 0...3600, into: &addons.isolation.quarantineProbeSeconds)
                iso.int("spin_us", in: 0...10_000, into: &addons.isolation.spinMicroseconds)
            }
            var bundled = addons.bundledDirectory
            sub.optionalString("bundled_dir", into: &bundled)
            addons.bundledDirectory = bundled
            sub.stringArray("dirs", into: &addons.directories)
            sub.stringArray("library_dirs", into: &addons.libraryDirectories)
            var consentFile = addons.consentFile
            sub.optionalString("consent_file", into: &consentFile)
            addons.consentFile = consentFile
            if case .object(let perAddon)? = sub.value("settings") {
                for id in perAddon.keys.sorted() {
                    var values: [String: String] = [:]
                    sub.object("settings") { settings in settings.stringMap(id, into: &values) }
                    addons.config[id] = values
                }
            } else if sub.value("settings") != nil {
                sub.record("settings", "must be an object of add-on ids to string settings")
            }
        }
        reader.object("ledger") { sub in
            sub.allow(["retention_days", "checkpoint_interval_seconds", "export_dir"])
            sub.int("retention_days", in: 1...36_500, into: &ledger.retentionDays)
            sub.int("checkpoint_interval_seconds", in: 1...86_400, into: &ledger.checkpointIntervalSeconds)
            var export = ledger.exportDirectory
            sub.optionalString("export_dir", into: &export)
            ledger.exportDirectory = export
        }
        reader.object("callbacks") { sub in
            sub.allow([
                "retry_base_ms", "max_attempts", "timeout_ms", "allow_targets", "per_receiver_concurrency",
                "per_account_concurrency", "max_concurrency", "secret_overlap_seconds", "allow_http",
            ])
            sub.bool("allow_http", into: &callbacks.allowHTTP)
            sub.int("retry_base_ms", in: 10...3_600_000, into: &callbacks.retryBaseMs)
            sub.int("max_attempts", in: 1...100, into: &callbacks.maxAttempts)
            sub.int("timeout_ms", in: 100...120_000, into: &callbacks.timeoutMs)
            sub.stringArray("allow_targets", into: &callbacks.allowTargets)
            for problem in CallbackTargetPolicy.problems(inAllowTargets: callbacks.allowTargets) {
                sub.record(problem.field, problem.message)
            }
            sub.int("per_receiver_concurrency", in: 1...1024, into: &callbacks.perReceiverConcurrency)
            sub.int("per_account_concurrency", in: 1...4096, into: &callbacks.perAccountConcurrency)
            sub.int("max_concurrency", in: 1...16_384, into: &callbacks.maxConcurrency)
            sub.int(
                "secret_overlap_seconds", in: 0...WebhookSecrets.maxOverlapSeconds,
                into: &callbacks.secretOverlapSeconds
            )
        }
    }

    /// The variables `serve` reads (`applyEnvironment`).
    static let settingVariables = [
        "SWITCHBOARD_HOST", "SWITCHBOARD_PORT", "SWITCHBOARD_DATA_DIR", "SWITCHBOARD_RETENTION_DAYS",
        "SWITCHBOARD_MAX_BODY_BYTES", "SWITCHBOARD_DURABILITY", "SWITCHBOARD_OPERATOR_TOKEN",
        "SWITCHBOARD_CALLBACK_ALLOW_TARGETS", "SWITCHBOARD_TRUSTED_PROXIES",
    ]

    /// Variables of the same prefix that other parts read (the CLI, add-on runners, the test and
    /// bench scripts): known, so never taken for a mistyped setting.
    static let otherVariables: Set<String> = [
        "SWITCHBOARD_URL", "SWITCHBOARD_PASSWORD", "SWITCHBOARD_ADDON_ID", "SWITCHBOARD_RUNNER",
        "SWITCHBOARD_TEST_LOGS", "SWITCHBOARD_SCREENSHOTS", "SWITCHBOARD_BINARY", "SWITCHBOARD_BENCH_LOCKED",
        "SWITCHBOARD_ADDON_H",
    ]

    /// Applies `SWITCHBOARD_*` variables; they win over the file. A variable one or two letters from
    /// a setting's (`SWITCHBOARD_PROT`) is refused with the one meant: ignored, it would leave the
    /// setting at its default without a word.
    public mutating func applyEnvironment(_ environment: [String: String]) throws {
        var problems: [FieldError] = []
        func int(_ name: String, _ target: inout Int, in range: ClosedRange<Int>) {
            guard let text = environment[name] else { return }
            guard let value = Int(text) else {
                problems.append(FieldError(name, "must be a whole number, got \"\(text)\""))
                return
            }
            guard range.contains(value) else {
                problems.append(
                    FieldError(name, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)"))
                return
            }
            target = value
        }
        for name in environment.keys.sorted()
        where name.hasPrefix("SWITCHBOARD_") && !Self.settingVariables.contains(name)
            && !Self.otherVariables.contains(name)
        {
            // Within two edits, or three for the long names, or the same letters in another case.
            if let meant = Self.settingVariables.first(where: {
                $0 == name.uppercased() || EditDistance.between(name, $0) <= ($0.count > 24 ? 3 : 2)
            }) {
                problems.append(FieldError(name, "is not a setting; did you mean \(meant)?"))
            }
        }
        if let host = environment["SWITCHBOARD_HOST"] { self.host = host }
        int("SWITCHBOARD_PORT", &port, in: 0...65535)
        if let dir = environment["SWITCHBOARD_DATA_DIR"] { dataDir = dir }
        int("SWITCHBOARD_RETENTION_DAYS", &retentionDays, in: 1...365)
        int("SWITCHBOARD_MAX_BODY_BYTES", &maxBodyBytes, in: 1024...(16 << 20))
        if let text = environment["SWITCHBOARD_DURABILITY"] {
            if let value = Durability(rawValue: text) {
                durability = value
            } else {
                problems.append(FieldError("SWITCHBOARD_DURABILITY", "must be normal or full, got \"\(text)\""))
            }
        }
        if let token = environment["SWITCHBOARD_OPERATOR_TOKEN"], !token.isEmpty { operatorToken = token }
        problems += applyAuthenticationEnvironment(environment)
        if let targets = environment["SWITCHBOARD_CALLBACK_ALLOW_TARGETS"] {
            let (entries, problem) = Self.listEntries(
                targets, variable: "SWITCHBOARD_CALLBACK_ALLOW_TARGETS", example: "10.0.0.0/8,hooks.internal")
            if let problem { problems.append(problem) }
            callbacks.allowTargets = entries
            problems += CallbackTargetPolicy.problems(
                inAllowTargets: callbacks.allowTargets, field: "SWITCHBOARD_CALLBACK_ALLOW_TARGETS")
        }
        if !problems.isEmpty { throw ConfigurationError(source: "the environment", problems: problems) }
        try validate(source: "the environment")
    }

    /// The entries of a comma-separated variable, trimmed, and the problem when one is empty (`a,,b`,
    /// `a,`): a stray comma is a mistake, where an empty value means "none".
    static func listEntries(_ text: String, variable: String, example: String) -> ([String], FieldError?) {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard entries.contains(where: \.isEmpty), !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            return (entries.filter { !$0.isEmpty }, nil)
        }
        return (
            entries.filter { !$0.isEmpty },
            FieldError(
                variable, "has an empty entry in \"\(text)\"; separate entries with single commas, e.g. \(example)")
        )
    }

    /// Checks limits that flags and variables can also break.
    public func validate(source: String) throws {
        var problems: [FieldError] = []
        if !(0...65535).contains(port) {
            problems.append(FieldError("port", "must be between 0 and 65535, got \(port)"))
        }
        if !(1...365).contains(retentionDays) {
            problems.append(
                FieldError(
                    "retention_days",
                    "must be between 1 and 365, got \(retentionDays) (the privacy policy keeps activity at most one year)"
                ))
        }
        // One port, two listeners: the second bind fails after the first started.
        var taken: [Int: String] = port > 0 ? [port: "port"] : [:]
        let others = [
            ("http.plain_port", http.tls == nil ? 0 : http.plainPort), ("smpp_server.port", smppServer.port),
            ("smpp_server.tls.port", smppServer.tlsPort),
        ]
        for (field, other) in others where other > 0 {
            if let first = taken[other] {
                let owner = first == "port" ? "the HTTP port" : first
                let usual = field.hasPrefix("smpp_server") ? " (SMPP's usual one is 2775)" : ""
                problems.append(
                    FieldError(field, "is \(other), \(owner) too; give each listener its own port\(usual)"))
            } else {
                taken[other] = field
            }
        }
        if let token = operatorToken, token.count < 16 {
            problems.append(
                FieldError("operator_token", "must be at least 16 characters; generate one with `openssl rand -hex 32`")
            )
        }
        if !problems.isEmpty { throw ConfigurationError(source: source, problems: problems) }
    }
}
