import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// The three bundled add-ons, loaded from the real built libraries.
@Suite struct ReferenceAddonTests {
    static let scrub = "com.switchboard.compliance-scrub"

    @Test func complianceScrubBlocksSuppressedNumbersAndQuietHoursWithoutTheBody() async throws {
        try await withDaemon(configure: {
            $0.addons.config[Self.scrub] = [
                "suppression_list": "+37255500009", "quiet_hours": "+1=00-24@+0", "content_rules": "free money",
            ]
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            let grant = try await client.put("/v1/account/addons/compliance-scrub", json: ["categories": ["usage"]])
            #expect(grant.status == 201)
            let suppressed = try await client.send(to: "+37255500009")
            #expect(suppressed.status == 422)
            #expect(suppressed.json["addon_id"] as? String == Self.scrub)
            #expect(suppressed.json["reason_code"] as? String == "suppressed")
            let quiet = try await client.send(to: "+15551234567")
            #expect(quiet.json["reason_code"] as? String == "quiet_hours")
            // Without the body grant, content rules cannot apply.
            #expect(try await client.send(to: "+37255512345", body: "win free money now").status == 201)
            _ = try await client.put("/v1/account/addons/compliance-scrub", json: ["categories": ["usage", "content"]])
            let flagged = try await client.send(to: "+37255512345", body: "win FREE MONEY now")
            #expect(flagged.json["reason_code"] as? String == "content_rule")
            #expect(flagged.text.contains("free money"))
        }
    }

    @Test func complianceScrubLearnsOptOutsFromInboundStop() async throws {
        try await withDaemon { daemon in
            let (accountID, client) = try await daemon.signUp()
            _ = try await client.put(
                "/v1/account/addons/compliance-scrub", json: ["fields": ["usage.to", "usage.from", "usage.opt_out"]])
            _ = try await client.post("/v1/account/numbers", json: ["number": "+37255500000"])
            _ = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "STOP"])
            let state = daemon.directory.appendingPathComponent("addons/\(Self.scrub)/suppression.tsv")
            #expect(
                try await eventually {
                    ((try? String(contentsOf: state, encoding: .utf8)) ?? "").contains("\(accountID)\t+37255512345")
                })
            // The platform itself refuses an opted-out recipient before the add-on is asked, with its
            // one documented answer.
            let refused = try await client.send(to: "+37255512345")
            #expect(refused.status == 422)
            #expect(refused.json["title"] as? String == "Recipient opted out")
        }
    }

    /// Reporting's counters survive a restart: the journal written per event is replayed over the
    /// snapshot, so the next day's row continues from where it stopped.
    @Test func reportingCountersSurviveARestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (first, accountID, client) = try await Self.withReporting(directory)
        let key = try #require(client.basic)
        for to in ["+37255500001", "+37255500002"] { _ = try await client.send(to: to) }
        let delivered = try await eventually {
            try await client.get("/v1/account/addons/reporting/reports").data.first?["delivered"] as? Int == 2
        }
        await first.stop(removeData: false)
        #expect(delivered)
        let journal = directory.appendingPathComponent("addons/com.switchboard.reporting/reporting.journal")
        #expect(FileManager.default.fileExists(atPath: journal.path))

        // The segments came back from the journal too: two messages before the restart, one after.
        #expect(
            try await Self.afterRestart(directory, key: key, delivered: 3, recipients: 3, segments: 3),
            "account \(accountID)")
    }

    /// A state file of the first format (pairs listed as strings) still loads and keeps counting.
    @Test func reportingReadsItsFirstStateFormat() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (first, accountID, client) = try await Self.withReporting(directory)
        let key = try #require(client.basic)
        await first.stop(removeData: false)

        let today = Self.todayUTC
        let day: [String: Any] = [
            "sent": 1, "delivered": 1, "undelivered": 0, "failed": 0, "recipients": ["psn_earlier"],
            "counted": [
                ["message_id": "msg_earlier", "status": "sent"], ["message_id": "msg_earlier", "status": "delivered"],
            ],
        ]
        let state: [String: Any] = ["format": 1, "reports": ["accounts": [accountID: [today: day]]]]
        try Self.writeState(state, in: directory)

        #expect(try await Self.afterRestart(directory, key: key, delivered: 2, recipients: 2, segments: 1))
    }

    /// A state file of format 2 as version 1.0.0 wrote it, without segments or error codes, still
    /// loads: the day's counters go on, and its segments start from the messages sent since.
    @Test func reportingReadsAStateFileFromBeforeItsOptionalFields() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (first, accountID, client) = try await Self.withReporting(directory)
        let key = try #require(client.basic)
        await first.stop(removeData: false)

        let day: [String: Any] = [
            "sent": 1, "delivered": 1, "undelivered": 0, "failed": 0, "recipients": ["psn_earlier"], "counted": "",
        ]
        let state: [String: Any] = [
            "format": 2, "reports": ["accounts": [accountID: [Self.todayUTC: day]]],
        ]
        try Self.writeState(state, in: directory)

        #expect(try await Self.afterRestart(directory, key: key, delivered: 2, recipients: 2, segments: 1))
    }

    /// Today in UTC as Reporting names its days (`2026-11-30`).
    static var todayUTC: String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }

    /// Puts `state` where Reporting keeps its state file in the data directory `directory`.
    static func writeState(_ state: [String: Any], in directory: URL) throws {
        try JSONSerialization.data(withJSONObject: state).write(
            to: directory.appendingPathComponent("addons/com.switchboard.reporting/reporting.json"))
    }

    /// A daemon on `directory` with a new account that enabled Reporting.
    static func withReporting(_ directory: URL) async throws -> (TestDaemon, String, TestClient) {
        let daemon = try await TestDaemon.start(directory: directory)
        let (accountID, client) = try await daemon.signUp()
        _ = try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]])
        return (daemon, accountID, client)
    }

    /// Starts a daemon on `directory` again, sends one more message (of one segment), and tells
    /// whether today's report reaches the expected counts (continuing from what Reporting kept on disk).
    static func afterRestart(
        _ directory: URL, key: (String, String), delivered: Int, recipients: Int, segments: Int
    ) async throws -> Bool {
        let daemon = try await TestDaemon.start(directory: directory)
        let client = TestClient(baseURL: daemon.baseURL, basic: key)
        _ = try await client.send(to: "+37255500003")
        let continued = try await eventually {
            let row = try await client.get("/v1/account/addons/reporting/reports").data.first
            return row?["delivered"] as? Int == delivered && row?["unique_recipients"] as? Int == recipients
                && row?["segments"] as? Int == segments
        }
        await daemon.stop(removeData: false)
        return continued
    }

    @Test func reportingProducesDailyReportsAsJSONAndCSV() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]])
            for to in ["+37255500001", "+37255500002", "+37255500001"] { _ = try await client.send(to: to) }
            #expect(
                try await eventually {
                    let rows = try await client.get("/v1/account/addons/reporting/reports").data
                    return rows.first?["delivered"] as? Int == 3
                })
            let row = try #require(try await client.get("/v1/account/addons/reporting/reports").data.first)
            #expect(row["sent"] as? Int == 3)
            #expect(row["unique_recipients"] as? Int == 2)
            #expect(row["delivery_rate"] as? Double == 1)
            // The category grant includes the optional fields: three messages of one segment each,
            // and no error code, since none failed.
            #expect(row["segments"] as? Int == 3)
            #expect(row["error_codes"] == nil)
            let csv = try await client.get("/v1/account/addons/reporting/reports?format=csv")
            #expect(csv.contentType?.hasPrefix("text/csv") == true)
            #expect(
                csv.text.hasPrefix(
                    "date,delivered,delivery_rate,failed,segments,sent,undelivered,unique_recipients\r\n"))
            // Reporting only ever saw pseudonyms.
            let shares = try await client.get("/v1/account/addons/reporting/shares")
            #expect(shares.data.allSatisfy { ($0["fields"] as? [String: String])?["usage.to"] == "pseudonym" })
        }
    }

    /// The optional fields, granted or not: an account that grants them gets the segments of the
    /// messages it sent and a tally of the error codes behind its undelivered and failed messages;
    /// an account that grants only the required fields gets the report as it was before they existed,
    /// and Reporting never receives them for it.
    @Test func reportingUsesItsOptionalFieldsOnlyWhenGranted() async throws {
        try await withDaemon(configure: { $0.simulator.failureRate = 0.5 }) { daemon in
            let (richID, rich) = try await daemon.signUp()
            let (plainID, plain) = try await daemon.signUp()
            #expect(try await rich.put("/v1/account/addons/reporting", json: ["categories": ["usage"]]).status == 201)
            let required = ["usage.to", "usage.status", "usage.timestamp", "usage.message_id"]
            let grant = try await plain.put("/v1/account/addons/reporting", json: ["fields": required])
            #expect(grant.status == 201)
            #expect(
                Set((grant.json["fields"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
                    == Set(required))

            // Each simulated message fails with a chance of one half, either refused at submission
            // (never sent) or undelivered after sending. Long bodies take two segments.
            let long = String(repeating: "a", count: 200)
            for client in [rich, plain] {
                for index in 0..<16 {
                    #expect(
                        try await client.send(to: "+3725550\(1000 + index)", body: index % 3 == 0 ? long : "Hi").status
                            == 201)
                }
            }

            /// The report row once all 16 messages are final and counted.
            func finalRow(_ client: TestClient) async throws -> [String: Any]? {
                var row: [String: Any]?
                _ = try await eventually {
                    row = try await client.get("/v1/account/addons/reporting/reports").data.first
                    let counted = ["delivered", "undelivered", "failed"].compactMap { row?[$0] as? Int }
                    return counted.reduce(0, +) == 16
                }
                return row
            }
            let richRow = try #require(try await finalRow(rich))
            let plainRow = try #require(try await finalRow(plain))

            // What the messages themselves say: segments of those sent (everything but refused at
            // submission), error codes of those that did not arrive.
            let messages = try await rich.get("/v1/messages?limit=100").data
            #expect(messages.count == 16)
            let sent = messages.filter { ["delivered", "undelivered"].contains($0["status"] as? String) }
            let segments = sent.compactMap { $0["segments"] as? Int }.reduce(0, +)
            var codes: [String: Int] = [:]
            for message in messages where ["undelivered", "failed"].contains(message["status"] as? String) {
                if let code = message["error_code"] as? Int { codes[String(code), default: 0] += 1 }
            }
            #expect(!codes.isEmpty && segments > sent.count, "the run should have failures and two-segment messages")
            #expect(richRow["sent"] as? Int == sent.count)
            #expect(richRow["segments"] as? Int == segments)
            #expect(richRow["error_codes"] as? [String: Int] == codes)

            // Without the optional fields: exactly the keys of the report before they existed.
            #expect(
                Set(plainRow.keys) == [
                    "date", "sent", "delivered", "undelivered", "failed", "delivery_rate", "unique_recipients",
                ])

            // The ledger: the optional fields reached Reporting for the account that granted them,
            // never for the other.
            let richShares = try await rich.get("/v1/account/addons/reporting/shares?limit=1000").data
            let plainShares = try await plain.get("/v1/account/addons/reporting/shares?limit=1000").data
            #expect(!richShares.isEmpty && !plainShares.isEmpty)
            // A cursor of one account's shares is no position of another's, nor is a made-up one.
            let firstPage = try await rich.get("/v1/account/addons/reporting/shares?limit=1")
            let cursor = try #require(firstPage.json["next_cursor"] as? String)
            let secondPage = try await rich.get("/v1/account/addons/reporting/shares?limit=1&cursor=\(cursor)")
            #expect(secondPage.status == 200, "\(secondPage.text)")
            let foreign = try await plain.get("/v1/account/addons/reporting/shares?cursor=\(cursor)")
            #expect(foreign.status == 422 && foreign.errorFields == ["cursor"], "\(foreign.text)")
            let madeUp = try await rich.get("/v1/account/addons/reporting/shares?cursor=OTk5OTk")
            #expect(madeUp.status == 422 && madeUp.errorFields == ["cursor"], "\(madeUp.text)")
            #expect(richShares.allSatisfy { ($0["fields"] as? [String: String])?["usage.segments"] == "clear" })
            #expect(richShares.contains { ($0["fields"] as? [String: String])?["usage.error_code"] == "clear" })
            #expect(
                plainShares.allSatisfy {
                    Set(($0["fields"] as? [String: String] ?? [:]).keys).isSubset(of: Set(required))
                })
            // And Reporting's own journal, a line per update it recorded: what it received, account
            // by account. Each row above was emitted after its updates were journaled.
            let journal = daemon.directory.appendingPathComponent("addons/com.switchboard.reporting/reporting.journal")
            let lines = try String(contentsOf: journal, encoding: .utf8).split(separator: "\n")
            let richLines = lines.filter { $0.contains(richID) }
            let plainLines = lines.filter { $0.contains(plainID) }
            #expect(richLines.contains { $0.contains("\"segments\"") && $0.contains("\"errorCode\"") })
            #expect(!plainLines.isEmpty)
            #expect(
                !plainLines.contains {
                    $0.contains("segments") || $0.contains("errorCode") || $0.contains("error_codes")
                })
        }
    }

    @Test func monitoringExportsMetricsAndRaisesAlerts() async throws {
        try await withDaemon(configure: {
            $0.passwordCost = 14
            $0.addons.config["com.switchboard.monitoring"] = ["latency_p99_threshold_ms": "0", "min_requests": "1"]
        }) { daemon in
            let (accountID, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/monitoring", json: ["categories": ["usage"]])
            // Password changes run scrypt twice: slow enough to cross a 0 ms p99 threshold.
            _ = try await client.patch(
                "/v1/account", json: ["password": "new-lantern-orchid-77", "current_password": "plum-harbor-violet-42"])
            #expect(
                try await eventually {
                    try await client.get("/v1/account/addons/monitoring/alerts").data.contains {
                        $0["state"] as? String == "firing"
                    }
                })
            // Per-account series are the operator's; the public endpoint names no account.
            #expect(
                try await eventually {
                    try await daemon.admin.get("/v1/admin/metrics").text.contains("account=\"\(accountID)\"")
                })
            #expect(
                try await daemon.admin.get("/v1/admin/metrics").text.contains(
                    "switchboard_addon_metric_api_latency_p99_ms"))
            let metrics = try await daemon.client.get("/metrics").text
            #expect(!metrics.contains(accountID))
            #expect(metrics.contains("switchboard_addon_events_delivered_total{addon=\"com.switchboard.monitoring\"}"))
        }
    }

    @Test func aConsentFileEnablesAddonsDeclaratively() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-consent-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let accountID = try await withDaemon(configure: { $0.dataDir = directory.path }) { daemon in
            try await daemon.signUp().accountID
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("consent.json")
        let bad =
            #"{"accounts": [{"account_id": "\#(accountID)", "addons": [{"id": "com.switchboard.reporting", "fields": ["usage.to"]}, {"id": "nope.addon"}, {"id": "monitoring", "categories": ["usage"]}, {"id": "com.switchboard.monitoring", "enabled": false}, {"id": "compliance-scrub", "enabled": false, "categories": ["usage"]}]}]}"#
        try Data(bad.utf8).write(to: file)
        let refused = try DaemonProcess(
            arguments: ["addons", "apply", file.path, "--data-dir", directory.path], port: 0)
        #expect(try await refused.waitForExit() == 64)
        #expect(refused.errorOutput().contains("cannot work without"))
        // The file is wrong, not the command: no usage text follows the problems.
        #expect(!refused.errorOutput().contains("Usage:"), "\(refused.errorOutput())")
        #expect(refused.errorOutput().contains("nope.addon is not a loaded add-on"))
        // Withdrawal and a grant in one entry: neither is guessed.
        #expect(
            refused.errorOutput().contains(
                "accounts[0].addons[4].categories: is given with \"enabled\": false, which withdraws consent"),
            "\(refused.errorOutput())")
        // The same add-on by its short id and its id: applying would grant and withdraw on every run.
        #expect(
            refused.errorOutput().contains(
                "names com.switchboard.monitoring for \(accountID) again (first at accounts[0].addons[2])"),
            "\(refused.errorOutput())")

        let good =
            #"{"accounts": [{"account_id": "\#(accountID)", "addons": [{"id": "reporting", "categories": ["usage"]}]}]}"#
        try Data(good.utf8).write(to: file)
        let applied = try DaemonProcess(
            arguments: ["addons", "apply", file.path, "--data-dir", directory.path], port: 0)
        #expect(try await applied.waitForExit() == 0)
        try await withDaemon(configure: { $0.dataDir = directory.path }) { daemon in
            #expect(
                daemon.daemon.addons.consents.current(accountID: accountID, addonID: "com.switchboard.reporting")?.actor
                    .hasPrefix("cli:") == true)
        }
    }
}

@Suite struct ManifestTests {
    @Test func everyProblemIsNamedWithItsPath() {
        let json = #"""
            {"manifest_version": 1, "id": "com.example.x", "name": "X", "vendor": "V", "version": "1",
             "abi": {"major": 1}, "library": {"path": "libx.so", "sha256": "zz"}, "hooks": ["message.submit", "sms.sent"],
             "fields": [{"id": "content.body", "category": "usage", "purpose": "short"}, {"id": "usage.status", "category": "usage", "purpose": "Counts outcomes per day", "pseudonym": true}],
             "colour": "blue"}
            """#
        do {
            _ = try Manifest.parse(Data(json.utf8), file: "x.json")
            Issue.record("expected errors")
        } catch let error as ManifestError {
            let fields = Set(error.problems.map(\.field))
            #expect(
                fields.isSuperset(of: [
                    "abi.minor", "library.sha256", "hooks", "fields[0].category", "fields[0].purpose",
                    "fields[1].pseudonym", "colour", "sync",
                ]))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// The words customers consent on say what they appear to say, and a malformed file names the
    /// key at fault as the API would.
    @Test(arguments: [
        (#""name": "Rec\u0000order""#, "name", "must not contain U+0000"),
        (#""name": "\u001b[31mRED""#, "name", "must not contain U+001B"),
        (#""name": "Report\u202Egnit""#, "name", "U+202E, a character that is invisible"),
        (#""vendor": "Switch\u200Bboard""#, "vendor", "U+200B, a character that is invisible"),
        (#""name": "   ""#, "name", "must not be blank"),
        (#""name": "" "#, "name", "must not be empty"),
        (#""version": " 0.1.0 ""#, "version", "starts or ends with white space"),
        (#""version": "1.0.0\u202E""#, "version", "U+202E, a character that is invisible"),
        (#""name": "Report\u200Fing""#, "name", "U+200F, a character that is invisible"),
        (#""name": "Report\u00ADing""#, "name", "U+00AD, a character that is invisible"),
        (#""name": "Re\u0085port""#, "name", "U+0085, a character that is invisible"),
        (#""vendor": "Acme\uDB40\uDC41""#, "vendor", "U+E0041, a character that is invisible"),
        (#""name": "\u2800\u2800""#, "name", "must not be blank"),
        (
            #""sync": {"timeout_ms": 1.5, "failure_mode": "fail_open"}"#, "sync.timeout_ms",
            "must be a whole number, got 1.5"
        ),
    ])
    func manifestWordsAreRefusedWhenTheyHideOrSayNothing(override: String, field: String, expected: String) throws {
        var base: [String: String] = [
            "name": #""name": "Counter""#, "vendor": #""vendor": "Example Ltd""#, "version": #""version": "0.1.0""#,
            "sync": #""sync": {"timeout_ms": 50, "failure_mode": "fail_open"}"#,
        ]
        base[String(override.dropFirst().prefix { $0 != "\"" })] = override
        let json = """
            {"manifest_version": 1, "id": "com.example.counter", \(base["name"]!), \(base["vendor"]!), \(base["version"]!),
             "abi": {"major": 1, "minor": 0}, "library": {"path": "libx.so"}, "hooks": ["message.submit"], \(base["sync"]!),
             "fields": [{"id": "usage.status", "category": "usage", "purpose": "Counts outcomes per day"}]}
            """
        let error = try #require(throws: ManifestError.self) { try Manifest.parse(Data(json.utf8), file: "x.json") }
        #expect(
            error.problems.contains { $0.field == field && $0.message.contains(expected) }, "\(error.problems)")
    }

    @Test func aPurposeOfSpacesAndMalformedJSONAreNamed() throws {
        func problems(_ json: String) -> [FieldError] {
            do {
                _ = try Manifest.parse(Data(json.utf8), file: "x.json")
                return []
            } catch let error as ManifestError {
                return error.problems
            } catch {
                return []
            }
        }
        let spaces = problems(
            #"""
            {"manifest_version": 1, "id": "com.example.counter", "name": "Counter", "vendor": "V", "version": "1",
             "abi": {"major": 1, "minor": 0}, "library": {"path": "libx.so"}, "hooks": ["message.status"],
             "fields": [{"id": "usage.status", "category": "usage", "purpose": "\u200B\u200B\u200B           "}]}
            """#)
        #expect(spaces.map(\.field) == ["fields[0].purpose"], "\(spaces)")
        let blank = problems(
            #"""
            {"manifest_version": 1, "id": "com.example.counter", "name": "Counter", "vendor": "V", "version": "1",
             "abi": {"major": 1, "minor": 0}, "library": {"path": "libx.so"}, "hooks": ["message.status"],
             "fields": [{"id": "usage.status", "category": "usage", "purpose": "            "}]}
            """#)
        #expect(blank.first?.message.contains("at least 10 characters besides spaces (got 0)") == true, "\(blank)")
        let twice = problems(#"{"manifest_version": 1, "name": "A", "name": "B"}"#)
        #expect(twice.first?.field == "name", "\(twice)")
        #expect(twice.first?.message.contains("more than once") == true, "\(twice)")
        let long = problems(#"{"manifest_version": 1, "id": "com.example.\#(String(repeating: "a", count: 120))"}"#)
        #expect(long.contains { $0.field == "id" && $0.message.contains("at most 100 characters") }, "\(long)")
    }

    /// A short id two add-ons share names neither (a partner's `com.example.reporting` beside the
    /// bundled `com.switchboard.reporting`): each is named by its full id.
    @Test func aShortIdTwoAddonsShareNamesNeither() throws {
        func manifest(_ id: String) throws -> Manifest {
            try Manifest.parse(
                Data(
                    #"""
                    {"manifest_version": 1, "id": "\#(id)", "name": "Delivery Reports", "vendor": "V", "version": "1",
                     "abi": {"major": 1, "minor": 0}, "library": {"path": "libx.so"}, "hooks": ["message.status"],
                     "fields": [{"id": "usage.status", "category": "usage", "purpose": "Counts outcomes per day"}]}
                    """#.utf8), file: "\(id).json")
        }
        let manifests = try ["com.switchboard.reporting", "com.example.reporting", "com.example.counter"].map(manifest)
        #expect(Manifest.named("reporting", in: manifests) == nil)
        #expect(Manifest.named("com.example.reporting", in: manifests)?.id == "com.example.reporting")
        #expect(Manifest.named("counter", in: manifests)?.id == "com.example.counter")
        #expect(
            manifests.map { $0.handle(among: manifests) } == [
                "com.switchboard.reporting", "com.example.reporting", "counter",
            ])
    }

    @Test func theBundledManifestsAreValid() throws {
        let directory = AddonFixture.repoRoot.appendingPathComponent("Manifests")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("com.") }
        #expect(files.count == 3)
        for file in files {
            let manifest = try Manifest.load(file: directory.appendingPathComponent(file).path)
            #expect(manifest.fields.allSatisfy { $0.purpose.count > 20 })
        }
    }
}
