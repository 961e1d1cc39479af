import Foundation
import NIOHTTP1
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// What the console promises beyond sign-in itself, tried over real HTTP against real daemons:
/// that one account cannot reach another's receipts, shares, erasures, keys or messages; that
/// wrong second-factor codes and sign-ups are throttled as the API's are; that a busy session still
/// ends; that cookies are `Secure` over HTTPS; the operator's add-on, audit and reload pages; and
/// that each customer page shows and changes what the API shows and changes.
@Suite struct ConsoleCoverageTests {
    static let password = ConsoleSessionTests.password

    // MARK: Helpers

    /// Signs an account made through the API in to the console and enrols TOTP; returns the
    /// visitor (signed in) and the secret.
    static func consoleSession(_ daemon: TestDaemon, clock: ManualWallClock, email: String) async throws -> (
        ConsoleVisitor, TOTP
    ) {
        var visitor = ConsoleVisitor(daemon)
        let signedIn = try await visitor.submit(
            "/console/sign-in", to: "/console/sign-in", [("email", email), ("password", password)])
        #expect(signedIn.headers.first(name: "Location") == "/console/enrol")
        let enrol = try await visitor.get("/console/enrol")
        let secret = try #require(ConsoleVisitor.capture(#"id="totp-secret">([A-Z2-7]+)<"#, in: enrol.text))
        let totp = TOTP(secret: try #require(Base32.decode(secret)))
        let confirmed = try await visitor.post(
            "/console/enrol/totp",
            [("csrf", ConsoleVisitor.csrf(in: enrol.text) ?? ""), ("code", ConsoleSessionTests.code(totp, clock))])
        #expect(confirmed.status == 303)
        return (visitor, totp)
    }

    /// A six-digit code the authenticator shows at no step near now (so it is wrong for certain).
    static func wrongCode(_ totp: TOTP, _ clock: ManualWallClock) -> String {
        let step = totp.step(atMillis: clock.now().epochMillis)
        let near = Set((-3...3).map { totp.code(step: step + Int64($0)) })
        return ["000000", "111111", "222222", "333333", "444444", "555555", "666666", "777777"].first {
            !near.contains($0)
        }!
    }

    /// Creates an API key on the console's keys page; returns a client that uses it.
    static func apiKey(_ visitor: inout ConsoleVisitor, _ daemon: TestDaemon, name: String) async throws -> (
        accountID: String, client: TestClient, keyID: String
    ) {
        let made = try await visitor.submit("/console/keys", to: "/console/keys", [("name", name)])
        #expect(made.status == 303)
        let shown = try await visitor.get(try #require(made.headers.first(name: "Location")))
        let secret = try #require(ConsoleVisitor.capture(#"id="new-key">(sk_[^<]+)<"#, in: shown.text))
        let accountID = try #require(ConsoleVisitor.capture(#"account id <code>([^<]+)</code>"#, in: shown.text))
        let client = TestClient(baseURL: daemon.baseURL, basic: (accountID, secret))
        let keys = try await client.get("/v1/account/keys").data
        let keyID = try #require(keys.first { $0["name"] as? String == name }?["id"] as? String)
        return (accountID, client, keyID)
    }

    /// Text as the console's templates escape it.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    /// The table row of `html` that names `marker`, or nil.
    static func row(containing marker: String, in html: String) -> String? {
        html.components(separatedBy: "<tr>").first { $0.contains(marker) }
            .map { $0.components(separatedBy: "</tr>")[0] }
    }

    /// The operator, signed in to the console.
    static func operatorVisitor(_ daemon: TestDaemon) async throws -> ConsoleVisitor {
        var visitor = ConsoleVisitor(daemon)
        let signedIn = try await visitor.submit(
            "/console/admin/sign-in", to: "/console/admin/sign-in", [("token", daemon.daemon.operatorToken)])
        #expect(signedIn.headers.first(name: "Location") == "/console/admin/addons")
        return visitor
    }

    // MARK: 1. Isolation

    @Test func anotherAccountsReceiptsSharesErasuresKeysAndMessagesAreOutOfReach() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            // Account A works through the API only.
            let (ownerID, owner) = try await daemon.signUp(email: "owner@example.com", name: "Owner Person")
            let granted = try await owner.put("/v1/account/addons/reporting", json: ["categories": ["usage"]])
            #expect(granted.status == 201, "\(granted.text)")
            let receiptID = try #require(granted.json["receipt_id"] as? String)
            let sent = try await owner.send(to: "+37255512345", body: "owner's private words")
            let messageID = try #require(sent.json["id"] as? String)
            var ownerShares: [[String: Any]] = []
            #expect(
                try await eventually(seconds: 30) {
                    ownerShares = try await owner.get("/v1/account/addons/reporting/shares").data
                    return !ownerShares.isEmpty
                })
            let shareEvents = ownerShares.compactMap { $0["event_id"] as? String }
            #expect(!shareEvents.isEmpty)
            let erasure = try await owner.post("/v1/account/erasures", json: ["number": "+37255512345"])
            #expect(erasure.status == 202, "\(erasure.text)")
            let erasureID = try #require(erasure.json["id"] as? String)
            let ownerKeyID = try #require(try await owner.get("/v1/account/keys").data.first?["id"] as? String)
            // The owner sees its own receipt through the API: the refusals below are about the account.
            #expect(try await owner.get("/v1/account/consents/\(receiptID)").status == 200)

            // Account B, signed in to the console, with an API key of its own.
            var (stranger, _) = try await ConsoleSessionTests.enrolledCustomer(
                daemon, clock: clock, email: "stranger@example.com")
            let (strangerID, strangerAPI, _) = try await Self.apiKey(&stranger, daemon, name: "mine")
            #expect(strangerID != ownerID)

            let receipt = try await stranger.get("/console/receipts/\(receiptID)")
            #expect(receipt.status == 404)
            #expect(!receipt.text.contains(ownerID))
            #expect(!receipt.text.contains("usage.to"))

            let shares = try await stranger.get("/console/addons/reporting/shares")
            #expect(shares.status == 200)
            #expect(shares.text.contains("This add-on has received nothing about you"))
            for event in shareEvents { #expect(!shares.text.contains(event)) }
            #expect(!shares.text.contains(receiptID))

            let privacy = try await stranger.get("/console/privacy")
            #expect(privacy.status == 200)
            #expect(!privacy.text.contains(erasureID))
            #expect(!privacy.text.contains(#"<section class="erasure">"#))
            #expect(privacy.text.contains("You have made no erasure requests"))
            #expect(try await strangerAPI.get("/v1/account/erasures/\(erasureID)").status == 404)

            let message = try await stranger.get("/console/messages/\(messageID)")
            #expect(message.status == 404)
            #expect(!message.text.contains("owner&#39;s private words") && !message.text.contains("private words"))

            // Revoking A's key with B's own, valid form token changes nothing.
            let revoke = try await stranger.submit("/console/keys", to: "/console/keys/\(ownerKeyID)/revoke", [])
            #expect(revoke.status == 404)
            #expect(try await owner.get("/v1/account").status == 200, "A's key still works")
            let ownerKeys = try await owner.get("/v1/account/keys").data
            #expect(ownerKeys.first { $0["id"] as? String == ownerKeyID }?["revoked_at"] == nil)

            // The API: B's key cannot read A's consent receipt.
            let refused = try await strangerAPI.get("/v1/account/consents/\(receiptID)")
            #expect(refused.status == 404)
            #expect(!refused.text.contains(ownerID))
        }
    }

    // MARK: 2. Second-factor throttle

    @Test func wrongSecondFactorCodesAreThrottledLikeTheAPIs() async throws {
        let clock = ManualWallClock()
        // The limit and window the daemon starts with (`rate_limits.auth_failures`, `auth_window_seconds`).
        let limit = ServeConfiguration().rateLimits.authFailures
        let window = ServeConfiguration().rateLimits.authWindowSeconds
        try await withDaemon(clock: clock) { daemon in
            let email = "wrong-codes@example.com"
            let (_, totp) = try await ConsoleSessionTests.enrolledCustomer(daemon, clock: clock, email: email)
            var other = ConsoleVisitor(daemon)
            let signedIn = try await other.submit(
                "/console/sign-in", to: "/console/sign-in", [("email", email), ("password", Self.password)])
            #expect(signedIn.headers.first(name: "Location") == "/console/second-factor")
            let page = try await other.get("/console/second-factor")
            let csrf = try #require(ConsoleVisitor.csrf(in: page.text))
            let wrong = Self.wrongCode(totp, clock)
            for attempt in 1...limit {
                let answer = try await other.post(
                    "/console/second-factor", [("csrf", csrf), ("method", "totp"), ("code", wrong)])
                #expect(answer.status == 401, "wrong code \(attempt) of \(limit)")
            }
            // Past the limit even the right code is not checked.
            clock.advance(by: 30)
            let right = ConsoleSessionTests.code(totp, clock)
            let refused = try await other.post(
                "/console/second-factor", [("csrf", csrf), ("method", "totp"), ("code", right)])
            #expect(refused.status == 429)
            let wait = try #require(Int(refused.headers.first(name: "Retry-After") ?? ""), "Retry-After")
            #expect((1...window).contains(wait))
            #expect(
                try await other.get("/console/messages").headers.first(name: "Location") == "/console/second-factor")
            // The API's sign-in counts against the same throttle.
            let api = try await daemon.client.post(
                "/v1/login", json: ["email": email, "password": Self.password, "code": right])
            #expect(api.status == 429)
            #expect(api.headers.first(name: "Retry-After") != nil)

            // Once the window has passed, the right code signs in.
            clock.advance(by: TimeInterval(window))
            let passed = try await other.post(
                "/console/second-factor",
                [("csrf", csrf), ("method", "totp"), ("code", ConsoleSessionTests.code(totp, clock))])
            #expect(passed.status == 303)
            #expect(passed.headers.first(name: "Location") == "/console")
        }
    }

    // MARK: 3. Absolute expiry

    @Test func aBusySessionStillEndsAtItsAbsoluteLifetime() async throws {
        let clock = ManualWallClock()
        try await withDaemon(
            clock: clock,
            configure: {
                $0.console.idleMinutes = 30
                $0.console.absoluteHours = 1
            }
        ) { daemon in
            var (visitor, _) = try await ConsoleSessionTests.enrolledCustomer(
                daemon, clock: clock, email: "busy@example.com")
            // A request every 20 minutes keeps the session from going idle...
            for minute in [20, 40, 59] {
                clock.advance(by: minute == 59 ? 19 * 60 : 20 * 60)
                #expect(try await visitor.get("/console/messages").status == 200, "at minute \(minute)")
            }
            // ...but not past the hour from sign-in, though the last request was 2 minutes ago.
            clock.advance(by: 2 * 60)
            let ended = try await visitor.get("/console/messages")
            #expect(ended.status == 303)
            #expect(ended.headers.first(name: "Location") == "/console/sign-in")
            #expect(try await visitor.get("/console/settings").headers.first(name: "Location") == "/console/sign-in")
        }
    }

    // MARK: 4. Secure cookies over HTTPS

    @Test func cookiesAreSecureByDefaultWhenTheDaemonServesHTTPS() async throws {
        let ca = try await ThrowawayCA()
        defer { try? FileManager.default.removeItem(at: ca.directory) }
        let served = try await ca.issue("console", days: 1)
        try await withDaemon(configure: {
            $0.http.tls = .init(certificateFile: served.certificate, keyFile: served.key)
            #expect($0.console.secureCookies == nil, "secure_cookies is not set")
        }) { daemon in
            let url = "https://127.0.0.1:\(daemon.port)"
            // The sign-up page first, for the form token and its cookie, as a browser would.
            let page = try await ca.run("curl -sS -c jar --cacert ca.pem \(url)/console/sign-up")
            let form = try #require(ConsoleVisitor.csrf(in: page), "\(page)")
            #expect(
                try String(contentsOf: ca.directory.appendingPathComponent("jar"), encoding: .utf8).contains(
                    "__Host-sb_form"))
            let signUp = try await ca.run(
                "curl -sS -i -b jar --cacert ca.pem --data-urlencode csrf=\(form) --data-urlencode name=Ada"
                    + " --data-urlencode email=tls@example.com --data-urlencode password=\(Self.password)"
                    + " \(url)/console/sign-up")
            let cookies = signUp.split(whereSeparator: \.isNewline).filter { $0.lowercased().hasPrefix("set-cookie:") }
                .map(String.init)
            let session = try #require(cookies.first { $0.contains("sb_console=") }, "\(signUp)")
            #expect(session.lowercased().hasPrefix("set-cookie: __host-sb_console=cons_"), "\(session)")
            #expect(session.contains("; Secure"))
            #expect(session.contains("HttpOnly") && session.contains("Path=/"))
            let device = try #require(cookies.first { $0.contains("sb_device=") })
            #expect(device.contains("__Host-sb_device=dev_") && device.contains("; Secure"))
            // The browser sends it back under that name, and the console knows the session.
            let token = try #require(ConsoleVisitor.capture(#"__Host-sb_console=(cons_[^;\s]+)"#, in: session))
            let enrol = try await ca.run(
                "curl -sS -o /dev/null -w '%{http_code}' --cacert ca.pem -H 'Cookie: __Host-sb_console=\(token)'"
                    + " \(url)/console/enrol")
            #expect(enrol == "200")
        }
        // The same daemon over plain HTTP sets no `Secure` cookie (a browser would drop it).
        try await withDaemon { daemon in
            var visitor = ConsoleVisitor(daemon)
            let signedUp = try await visitor.submit(
                "/console/sign-up", to: "/console/sign-up",
                [("name", "Ada"), ("email", "plain@example.com"), ("password", Self.password)])
            let cookies = signedUp.headers[canonicalForm: "Set-Cookie"].map(String.init)
            #expect(cookies.contains { $0.hasPrefix("sb_console=cons_") && !$0.contains("Secure") })
        }
    }

    // MARK: 5. The operator's add-ons page

    @Test func theOperatorSeesAQuarantinedAddonsStateAndReasonAndReloadRedirects() async throws {
        let addons = try await RunnerTests.hostileAddon(failureMode: "fail_closed")
        defer { try? FileManager.default.removeItem(at: addons) }
        let id = "com.example.recorder"
        try await withDaemon(configure: { config in
            RunnerTests.configure(addons)(&config)
            config.addons.isolation.quarantineSeconds = 300
        }) { daemon in
            var visitor = try await Self.operatorVisitor(daemon)
            let healthy = try await visitor.get("/console/admin/addons")
            let healthyRow = try #require(Self.row(containing: "<code>\(id)</code>", in: healthy.text))
            #expect(!healthyRow.contains("quarantined"))

            let (_, client) = try await daemon.signUp()
            #expect(
                try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]]).status == 201)
            let hostile = daemon.directory.appendingPathComponent("addons/\(id)/hostile")
            try Data("segfault".utf8).write(to: hostile)
            let quarantined = try await eventually(seconds: 30) {
                _ = try await client.send()
                return daemon.daemon.addons.registry.runtimeStatus(id)?.state == .quarantined
            }
            #expect(quarantined)
            let listed = try await daemon.admin.get("/v1/admin/addons")
            let runtime = try #require(
                listed.json["loaded"].flatMap { $0 as? [[String: Any]] }?.first { $0["id"] as? String == id }?[
                    "runtime"] as? [String: Any])
            let failure = try #require(runtime["last_failure"] as? String, "\(runtime)")
            let until = try #require(runtime["quarantined_until"] as? String, "\(runtime)")

            let page = try await visitor.get("/console/admin/addons")
            #expect(page.status == 200)
            let row = try #require(Self.row(containing: "<code>\(id)</code>", in: page.text))
            #expect(row.contains("<td>quarantined"), "\(row)")
            #expect(row.contains(Self.escaped(failure)), "the last failure: \(row)")
            // Until when, in whichever form: its day and its time of day.
            #expect(
                row.contains(String(until.prefix(10))) && row.contains(String(until.dropFirst(11).prefix(8))), "\(row)")

            // Reloading answers with a redirect to the page, which says so once.
            try? FileManager.default.removeItem(at: hostile)
            let reloaded = try await visitor.submit(
                "/console/admin/addons", to: "/console/admin/addons/\(id)/reload", [])
            #expect(reloaded.status == 303)
            let location = try #require(reloaded.headers.first(name: "Location"))
            #expect(location == "/console/admin/addons" || location.hasPrefix("/console/admin/addons?"))
            let after = try await visitor.get(location)
            #expect(after.status == 200)
            #expect(after.text.contains("\(id) reloaded"))
            #expect(!(try await visitor.get(location)).text.contains("\(id) reloaded"), "the notice is shown once")
        }
    }

    // MARK: 6. The audit download

    /// Two accounts granting the recorder, `alice` sending `aliceMessages` and bob `bobMessages`;
    /// each message is three shares (its check, `sent`, `delivered`). Returns what the add-on
    /// recorded receiving once every share is in the ledger.
    static func auditWorkload(
        _ daemon: TestDaemon, aliceMessages: Int, bobMessages: Int
    ) async throws -> (alice: String, bob: String, seen: [AddonFixture.Recorded]) {
        let (alice, aliceClient) = try await daemon.signUp()
        let (bob, bobClient) = try await daemon.signUp()
        for client in [aliceClient, bobClient] {
            #expect(
                try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]]).status == 201)
        }
        for index in 0..<aliceMessages { #expect(try await aliceClient.send(body: "alice \(index)").status == 201) }
        for index in 0..<bobMessages { #expect(try await bobClient.send(body: "bob \(index)").status == 201) }
        let total = (aliceMessages + bobMessages) * 3
        func received() -> [AddonFixture.Recorded] {
            AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder")
                .filter { $0.what == "event" || $0.what == "check" }
        }
        #expect(try await eventually(seconds: 60) { received().count == total })
        #expect(
            try await eventually(seconds: 60) {
                try await daemon.admin.get("/v1/admin/audit?addon=recorder&limit=10000").data.count == total
            })
        return (alice, bob, received())
    }

    static func recorderAddons() async throws -> URL {
        try await AddonFixture.recorder(
            in: AddonPlatformTests.addonsDirectory(),
            fields: [("usage.to", true, true), ("usage.status", true, false)],
            hooks: ["message.submit", "message.status"])
    }

    @Test func theAuditDownloadIsNDJSONOfExactlyTheSharesMade() async throws {
        let addons = try await Self.recorderAddons()
        defer { try? FileManager.default.removeItem(at: addons) }
        // Two ledger records a query: the download streams page after page, and none is cut short.
        try await withDaemon(configure: {
            $0.addons.directories = [addons.path]
            $0.console.auditDownloadPage = 2
        }) { daemon in
            let (alice, bob, seen) = try await Self.auditWorkload(daemon, aliceMessages: 4, bobMessages: 2)
            #expect(try await daemon.daemon.ledgerEntries(Ledger.Query()).count > 4, "several pages to stream")
            var visitor = try await Self.operatorVisitor(daemon)
            let page = try await visitor.get("/console/admin/audit?addon=recorder")
            let link = try #require(ConsoleVisitor.capture(#"<a href="([^"]*format=ndjson[^"]*)""#, in: page.text))
            let download = try await visitor.get(link.replacingOccurrences(of: "&amp;", with: "&"))
            #expect(download.status == 200)
            #expect(download.contentType?.hasPrefix("application/x-ndjson") == true, "\(download.contentType ?? "")")
            #expect(download.headers.first(name: "Content-Disposition")?.contains("attachment") == true)

            func rows(_ text: String) throws -> [[String: Any]] {
                #expect(text.isEmpty || text.hasSuffix("\n"), "every record ends with a newline")
                return try text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
                    let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
                    return try #require(object as? [String: Any], "one JSON object a line: \(line)")
                }
            }
            let all = try rows(download.text)
            #expect(all.count == seen.count)
            #expect(Set(all.compactMap { $0["event_id"] as? String }) == Set(seen.map(\.eventID)))
            for row in all {
                let event = try #require(seen.first { $0.eventID == row["event_id"] as? String })
                #expect(row["account_id"] as? String == event.accountID)
                #expect(row["event_type"] as? String == event.type)
                #expect(row["addon_id"] as? String == "com.example.recorder")
                let fields = try #require(row["fields"] as? [String: String])
                #expect(Set(fields.keys) == Set(event.fields.keys))
                #expect(fields["usage.to"] == "pseudonym")
            }
            // The CSV alike: one header line, then a line per share.
            let csvLink = try #require(ConsoleVisitor.capture(#"<a href="([^"]*format=csv[^"]*)""#, in: page.text))
            let csv = try await visitor.get(csvLink.replacingOccurrences(of: "&amp;", with: "&"))
            let lines = csv.text.components(separatedBy: "\r\n").dropLast()
            #expect(
                lines.first
                    == "account_id,addon_id,addon_version,at,consent_receipt_id,event_id,event_type,fields,hash,seq",
                "\(lines.first ?? "")")
            #expect(lines.filter { $0.hasPrefix("account_id,") }.count == 1)
            #expect(lines.count == seen.count + 1, "\(lines.count) lines for \(seen.count) shares")
            // A filter of the page carries into its download.
            let filtered = try await visitor.get("/console/admin/audit?addon=recorder&account=\(bob)")
            let bobLink = try #require(
                ConsoleVisitor.capture(#"<a href="([^"]*format=ndjson[^"]*)""#, in: filtered.text))
            let bobRows = try rows(try await visitor.get(bobLink.replacingOccurrences(of: "&amp;", with: "&")).text)
            #expect(
                Set(bobRows.compactMap { $0["event_id"] as? String })
                    == Set(seen.filter { $0.accountID == bob }.map(\.eventID)))
            #expect(!bobRows.contains { $0["account_id"] as? String == alice })
        }
    }

    /// The audit page shows one page of the API's answer (200 ledger records); when more match, it
    /// says so.
    @Test func theAuditPageSaysWhenItShowsOnlyTheFirst200Records() async throws {
        // Pre-send checks only: each is a record of its own.
        let addons = try await AddonFixture.recorder(
            in: AddonPlatformTests.addonsDirectory(), fields: [("usage.to", true, true)], hooks: ["message.submit"])
        defer { try? FileManager.default.removeItem(at: addons) }
        try await withDaemon(configure: {
            $0.addons.directories = [addons.path]
            $0.rateLimits.sendBurst = 1000
        }) { daemon in
            let (_, alice) = try await daemon.signUp()
            let (bob, bobClient) = try await daemon.signUp()
            for client in [alice, bobClient] {
                #expect(
                    try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]]).status == 201)
            }
            for _ in 0..<3 { #expect(try await bobClient.send().status == 201) }
            var firstPage = try await daemon.admin.get("/v1/admin/audit?addon=recorder&limit=200")
            var sent = 3
            while firstPage.json["next_cursor"] == nil && sent < 1000 {
                for _ in 0..<50 { #expect(try await alice.send().status == 201) }
                sent += 50
                firstPage = try await daemon.admin.get("/v1/admin/audit?addon=recorder&limit=200")
            }
            try #require(firstPage.json["next_cursor"] is String, "more than 200 records")

            var visitor = try await Self.operatorVisitor(daemon)
            let page = try await visitor.get("/console/admin/audit?addon=recorder")
            #expect(page.status == 200)
            #expect(page.text.components(separatedBy: "<td>#").count - 1 == firstPage.data.count, "one page shown")
            // A sentence outside the table says that only the first 200 are shown.
            let said = ConsoleVisitor.capture(#"(<p[^>]*>[^<]*\b200\b[^<]*)"#, in: page.text)
            #expect(said != nil, "the page says it shows only the first 200 records")
            // Fewer than a page: no such sentence.
            let few = try await visitor.get("/console/admin/audit?addon=recorder&account=\(bob)")
            #expect(few.text.components(separatedBy: "<td>#").count - 1 == 3)
            #expect(ConsoleVisitor.capture(#"(<p[^>]*>[^<]*\b200\b[^<]*)"#, in: few.text) == nil)
        }
    }

    // MARK: 7. Reports and alerts

    @Test func anAddonsPageShowsItsReportsAndAlerts() async throws {
        let clock = ManualWallClock()
        try await withDaemon(
            clock: clock,
            configure: {
                $0.passwordCost = 14
                $0.addons.config["com.switchboard.monitoring"] = ["latency_p99_threshold_ms": "0", "min_requests": "1"]
            }
        ) { daemon in
            let email = "watcher@example.com"
            let (_, client) = try await daemon.signUp(email: email)
            var (visitor, _) = try await Self.consoleSession(daemon, clock: clock, email: email)
            for addon in ["monitoring", "reporting"] {
                let page = try await visitor.get("/console/addons/\(addon)")
                #expect(!page.text.contains("<h2>Reports</h2>") && !page.text.contains("<h2>Alerts</h2>"))
                // The form's required fields ride along as hidden inputs.
                var fields: [(String, String)] = []
                let pattern = try NSRegularExpression(pattern: #"<input type="hidden" name="fields" value="([^"]+)""#)
                for match in pattern.matches(in: page.text, range: NSRange(page.text.startIndex..., in: page.text)) {
                    fields.append(("fields", String(page.text[Range(match.range(at: 1), in: page.text)!])))
                }
                #expect(!fields.isEmpty)
                let granted = try await visitor.post(
                    "/console/addons/\(addon)/grant", [("csrf", ConsoleVisitor.csrf(in: page.text) ?? "")] + fields)
                #expect(granted.status == 303, "\(addon): \(granted.text)")
            }
            // A password change runs scrypt twice: slow enough to cross a 0 ms p99 threshold.
            let changed = try await client.patch(
                "/v1/account", json: ["password": "new-lantern-orchid-77", "current_password": Self.password])
            #expect(changed.status == 200)
            // The new password ended the console's session: this browser signs in again (known, so
            // no second factor).
            let again = try await visitor.submit(
                "/console/sign-in", to: "/console/sign-in", [("email", email), ("password", "new-lantern-orchid-77")])
            #expect(again.headers.first(name: "Location") == "/console")
            for index in 0..<3 { #expect(try await client.send(to: "+3725550100\(index)").status == 201) }
            var alerts: [[String: Any]] = []
            #expect(
                try await eventually(seconds: 30) {
                    alerts = try await client.get("/v1/account/addons/monitoring/alerts").data
                    return alerts.contains { $0["state"] as? String == "firing" }
                })
            var reports: [[String: Any]] = []
            #expect(
                try await eventually(seconds: 30) {
                    reports = try await client.get("/v1/account/addons/reporting/reports").data
                    return !reports.isEmpty
                })

            let monitoring = try await visitor.get("/console/addons/monitoring")
            #expect(monitoring.status == 200)
            #expect(monitoring.text.contains("<h2>Alerts</h2>"))
            let firing = try #require(alerts.first { $0["state"] as? String == "firing" })
            for key in firing.keys { #expect(monitoring.text.contains("<th scope=\"col\">\(key)</th>"), "\(key)") }
            let name = try #require(firing["alert"] as? String)
            #expect(monitoring.text.contains("<td>\(Self.escaped(name))</td>"))
            #expect(monitoring.text.contains("<td>firing</td>"))

            let reporting = try await visitor.get("/console/addons/reporting")
            #expect(reporting.text.contains("<h2>Reports</h2>"))
            let report = try #require(reports.last)
            for key in report.keys { #expect(reporting.text.contains("<th scope=\"col\">\(key)</th>"), "\(key)") }
            let date = try #require(report["date"] as? String)
            #expect(reporting.text.contains("<td>\(date)</td>"))
        }
    }

    /// A storage fault inside the console is a console page (HTML, its security headers, the
    /// API's 503 with Retry-After and the cause in words), not the API's JSON; once space is freed
    /// the same form works.
    @Test func aFullDiskIsAnsweredWithAConsolePage() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            let email = "full@example.com"
            _ = try await daemon.signUp(email: email)
            var (visitor, _) = try await Self.consoleSession(daemon, clock: clock, email: email)
            let disk = FullDisk(pool: daemon.daemon.messages.writer.pool)
            try await disk.fill()
            var refused: TestClient.Response?
            // A key row may still fit in a page the file has; a few fill it. The page that carries the
            // form may be the first to meet the full disk (its form token is written): then it is
            // the answer looked at.
            for index in 0..<15 {
                let shown = try await visitor.get("/console/keys")
                if shown.status != 200 {
                    refused = shown
                    break
                }
                let made = try await visitor.post(
                    "/console/keys", [("csrf", ConsoleVisitor.csrf(in: shown.text) ?? ""), ("name", "key \(index)")])
                if made.status != 303 {
                    refused = made
                    break
                }
            }
            let page = try #require(refused)
            try await disk.free()
            #expect(page.status == 503, "\(page.status) \(page.text)")
            #expect(page.contentType?.hasPrefix("text/html") == true, "\(String(describing: page.contentType))")
            #expect(page.headers.first(name: "Content-Security-Policy") != nil)
            #expect(page.headers.first(name: "Retry-After") == "30")
            #expect(page.text.contains("Storage unavailable") && page.text.contains("the disk is full"), "\(page.text)")
            #expect(try await visitor.submit("/console/keys", to: "/console/keys", [("name", "after")]).status == 303)
        }
    }

    /// Addresses the console serves only by POST, or not at all by that method, answer with the
    /// console's "Not found" page and headers, never an empty answer; an error page's "Go back"
    /// leads to the page the form was on; a half-finished sign-in can sign out.
    @Test func everyConsoleAnswerIsAPageAndEveryStageCanSignOut() async throws {
        try await withDaemon { daemon in
            let email = "stages@example.com"
            _ = try await daemon.signUp(email: email)
            var visitor = ConsoleVisitor(daemon)
            for path in ["/console/sign-out", "/console/addons/reporting/grant", "/console/admin/sign-out"] {
                let answer = try await visitor.get(path)
                #expect(answer.status == 404 || answer.status == 405, "\(path): \(answer.status)")
                #expect(answer.contentType?.hasPrefix("text/html") == true, "\(path)")
                #expect(answer.headers.first(name: "Content-Security-Policy") != nil, "\(path)")
                #expect(answer.text.contains("Not found"), "\(path): \(answer.text)")
            }
            // Signed in with the password, before the second factor: no navigation, but a way out.
            let signedIn = try await visitor.submit(
                "/console/sign-in", to: "/console/sign-in", [("email", email), ("password", Self.password)])
            #expect(signedIn.headers.first(name: "Location") == "/console/enrol")
            let enrol = try await visitor.get("/console/enrol")
            #expect(enrol.text.contains(#"action="/console/sign-out""#), "\(enrol.text)")
            let csrf = try #require(ConsoleVisitor.csrf(in: enrol.text))
            // A form refused for its token leads back to the page it was posted from.
            visitor.extraHeaders = [("Referer", daemon.baseURL + "/console/enrol")]
            let refused = try await visitor.post("/console/enrol/totp", [("csrf", "wrong"), ("code", "123456")])
            #expect(refused.status == 403)
            #expect(refused.text.contains(#"<a href="/console/enrol">Go back</a>"#), "\(refused.text)")
            visitor.extraHeaders = []
            let out = try await visitor.post("/console/sign-out", [("csrf", csrf)])
            #expect(out.headers.first(name: "Location") == "/console/sign-in")
            #expect(try await visitor.get("/console/enrol").headers.first(name: "Location") == "/console/sign-in")
        }
    }

    // MARK: 8. The customer's pages

    /// The messages page filters by status and direction as `GET /v1/messages` does, one message's
    /// page gives its status history in order with the moments the API reports, and the deletion
    /// page says what is kept and why, as the erasure service's report says it.
    @Test func messagesFilterAndShowTheirHistoryAndDeletionSaysWhatIsKept() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            let email = "filters@example.com"
            let (_, client) = try await daemon.signUp(email: email)
            #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)
            let outbound = try #require(try await client.send(body: "out").json["id"] as? String)
            #expect(
                try await daemon.admin.post(
                    "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "in"]
                ).status == 201)
            _ = try await eventually(seconds: 30) {
                try await client.get("/v1/messages/\(outbound)").json["status"] as? String == "delivered"
            }
            let shown = try await client.get("/v1/messages/\(outbound)").json
            #expect(shown["status"] as? String == "delivered")
            var (visitor, _) = try await Self.consoleSession(daemon, clock: clock, email: email)

            let all = try await visitor.get("/console/messages")
            let inboundID = try #require(
                (try await client.get("/v1/messages?direction=inbound").json["data"] as? [[String: Any]])?.first?["id"]
                    as? String)
            #expect(all.text.contains(outbound) && all.text.contains(inboundID))
            let inbound = try await visitor.get("/console/messages?direction=inbound")
            #expect(inbound.text.contains(inboundID) && !inbound.text.contains(outbound), "\(inbound.text)")
            #expect(inbound.text.contains("<option selected>inbound</option>"))
            let delivered = try await visitor.get("/console/messages?status=delivered&direction=outbound")
            #expect(delivered.text.contains(outbound) && !delivered.text.contains(inboundID))
            let failed = try await visitor.get("/console/messages?status=failed")
            #expect(!failed.text.contains(outbound) && !failed.text.contains(inboundID))
            // Refusals are said on the page itself, which keeps its forms, its navigation and
            // what was typed.
            let wrong = try await visitor.get("/console/messages?status=lost")
            #expect(wrong.status == 422 || wrong.status == 400, "\(wrong.status)")
            #expect(wrong.text.contains("status"), "the refusal names the field: \(wrong.text)")
            #expect(wrong.text.contains(#"action="/console/messages""#) && wrong.text.contains("aria-current"))
            let nul = try await visitor.submit(
                "/console/messages", to: "/console/messages",
                [("to", "+37255512345"), ("from", "ACME"), ("body", "half\u{0}way")])
            #expect(nul.status == 422, "\(nul.status)")
            #expect(nul.text.contains("U+0000"), "\(nul.text)")
            #expect(nul.text.contains(">half\u{FFFD}way</textarea>") && nul.text.contains(#"value="ACME""#))
            let backwards = try await visitor.get("/console/usage?from=2026-12-31&to=2026-01-01")
            #expect(backwards.status == 422, "\(backwards.status)")
            #expect(backwards.text.contains(#"value="2026-12-31""#) && backwards.text.contains("aria-current"))

            let page = try await visitor.get("/console/messages/\(outbound)")
            let history = try #require(
                ConsoleVisitor.capture(#"<h2>Status history</h2>\s*<ol>(.*?)</ol>"#, in: page.text), "\(page.text)")
            let steps = try [
                ("queued", #require(shown["created_at"] as? String)), ("sent", #require(shown["sent_at"] as? String)),
                ("delivered", #require(shown["completed_at"] as? String)),
            ].map { "<li>\($0.0) at \($0.1.prefix(19).replacingOccurrences(of: "T", with: " ")) UTC</li>" }
            #expect(history == steps.joined(), "\(history)")

            // What the API's own deletion reports, for another account, is what the page promises.
            let deletion = try await visitor.get("/console/delete")
            let (_, other) = try await daemon.signUp()
            let report = try await other.delete("/v1/account").json
            let kept = try #require(report["kept"] as? [[String: Any]])
            #expect(!kept.isEmpty)
            for item in kept {
                let line = "\(item["data"] as? String ?? "?"): \(item["reason"] as? String ?? "?")"
                #expect(deletion.text.contains("<li>\(Self.escaped(line))</li>"), "\(line)")
            }
            for erased in report["erased"] as? [String] ?? [] where !erased.hasPrefix("contacts") {
                #expect(deletion.text.contains("<li>\(Self.escaped(erased))</li>"), "\(erased)")
            }
        }
    }

    @Test func usageNumbersKeysWebhookSecretAndPrivacyWorkThroughTheConsole() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            let email = "pages@example.com"
            let (accountID, client) = try await daemon.signUp(email: email)
            // Usage on two days: two messages (one of two segments) yesterday, one today.
            #expect(try await client.send(body: "one").status == 201)
            #expect(try await client.send(body: String(repeating: "x", count: 200)).status == 201)
            clock.advance(by: 86_400)
            #expect(try await client.send(body: "three").status == 201)
            var (visitor, _) = try await Self.consoleSession(daemon, clock: clock, email: email)

            /// The usage table row the console shows for an API day.
            func usageRow(_ day: [String: Any]) -> String {
                let messages = day["messages"] as? [String: Int] ?? [:]
                let segments = day["segments"] as? [String: Int] ?? [:]
                let breakdown = messages.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                    .joined(separator: ", ")
                return "<td>\(day["date"] as? String ?? "")</td><td>\(messages.values.reduce(0, +))</td>"
                    + "<td>\(segments.values.reduce(0, +))</td><td>\(breakdown)</td>"
            }
            var apiDays: [[String: Any]] = []
            var usagePage = ""
            let consistent = try await eventually(seconds: 30) {
                let before = try await client.get("/v1/usage").json["days"] as? [[String: Any]] ?? []
                usagePage = try await visitor.get("/console/usage").text
                apiDays = try await client.get("/v1/usage").json["days"] as? [[String: Any]] ?? []
                return apiDays.count == 2 && before.map(usageRow) == apiDays.map(usageRow)
                    && apiDays.allSatisfy { usagePage.contains(usageRow($0)) }
            }
            #expect(consistent, "\(apiDays) vs \(usagePage)")
            // The period's total, in whichever words: the paragraph naming the period says 3.
            let period = try await client.get("/v1/usage").json
            let from = try #require(period["from"] as? String)
            let to = try #require(period["to"] as? String)
            let summary = try #require(
                usagePage.components(separatedBy: "<p>").dropFirst().map { $0.components(separatedBy: "</p>")[0] }
                    .first { $0.contains(from) && $0.contains(to) })
            #expect(summary.range(of: #"\b3\b"#, options: .regularExpression) != nil, "\(summary)")
            #expect(apiDays.map { ($0["messages"] as? [String: Int] ?? [:]).values.reduce(0, +) } == [2, 1])

            // Numbers: added on the console, seen by the API; a STOP from a recipient lists the opt-out.
            let added = try await visitor.submit(
                "/console/numbers", to: "/console/numbers", [("number", "+37255500000")])
            #expect(added.status == 303)
            let numbers = try await visitor.get(try #require(added.headers.first(name: "Location")))
            #expect(numbers.text.contains("Number added."))
            #expect(numbers.text.contains("<td>+37255500000</td>"))
            #expect(
                try await client.get("/v1/account/numbers").data.map { $0["number"] as? String } == ["+37255500000"])
            #expect(numbers.text.contains("Nobody has opted out."))
            let stop = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "STOP"])
            #expect(stop.json["opt_out"] as? String == "opted_out")
            let optOuts = try await visitor.get("/console/numbers")
            #expect(!optOuts.text.contains("Nobody has opted out."))
            #expect(optOuts.text.contains("<td>+37255512345</td>"))
            #expect(
                try await client.get("/v1/account/opt-outs").data.map { $0["number"] as? String } == ["+37255512345"])

            // A key made and revoked on the console stops working at once.
            let (_, keyClient, keyID) = try await Self.apiKey(&visitor, daemon, name: "short-lived")
            #expect(try await keyClient.get("/v1/account").status == 200)
            let revoked = try await visitor.submit("/console/keys", to: "/console/keys/\(keyID)/revoke", [])
            #expect(revoked.status == 303)
            let keys = try await visitor.get(try #require(revoked.headers.first(name: "Location")))
            #expect(keys.text.contains("Key \(keyID) revoked."))
            #expect(try #require(Self.row(containing: "<td>short-lived</td>", in: keys.text)).contains("revoked "))
            #expect(try await keyClient.get("/v1/account").status == 401)
            #expect(try await client.get("/v1/account").status == 200, "the other key is untouched")

            // The webhook secret rotates, and the previous one keeps signing for the overlap.
            let secretBefore = try #require(
                try await client.get("/v1/account").json["webhook_signing_secret"] as? String)
            #expect(try await client.get("/v1/account/webhook-secret").json["previous_secret_expires_at"] == nil)
            let rotated = try await visitor.submit(
                "/console/settings", to: "/console/settings/webhook-secret", [])
            #expect(rotated.status == 303)
            let settings = try await visitor.get(try #require(rotated.headers.first(name: "Location")))
            #expect(settings.text.contains("A new webhook signing secret is in force"))
            let account = try await client.get("/v1/account").json
            let secretAfter = try #require(account["webhook_signing_secret"] as? String)
            #expect(secretAfter != secretBefore)
            #expect(settings.text.contains("<code>\(secretAfter)</code>"))
            #expect(!settings.text.contains(secretBefore))
            let secretView = try await client.get("/v1/account/webhook-secret").json
            #expect(secretView["previous_secret_expires_at"] is String, "\(secretView)")
            #expect(settings.text.contains("The previous secret still signs too"))
            #expect(!(try await visitor.get("/console/settings")).text.contains("A new webhook signing secret"))

            // Privacy: keep only a digest of each body.
            let before = try await client.send(to: "+37255599999", body: "kept words")
            let beforeID = try #require(before.json["id"] as? String)
            let saved = try await visitor.submit(
                "/console/settings", to: "/console/settings/privacy", [("content_mode", "hash")])
            #expect(saved.status == 303)
            let privacy = try await visitor.get(try #require(saved.headers.first(name: "Location")))
            #expect(privacy.text.contains("Privacy setting saved."))
            #expect(privacy.text.contains(#"value="hash" checked"#))
            #expect(try await client.get("/v1/account").json["content_mode"] as? String == "hash")
            let shown = try await visitor.get("/console/messages/\(beforeID)")
            #expect(!shown.text.contains("kept words"))
            #expect(shown.text.contains("not kept (SHA-256"))
            let bad = try await visitor.submit(
                "/console/settings", to: "/console/settings/privacy", [("content_mode", "shred")])
            #expect(bad.status == 422)
            #expect(try await client.get("/v1/account").json["content_mode"] as? String == "hash")
            #expect(accountID.hasPrefix("acc_"))
        }
    }

    // MARK: The announced changes beyond the list

    /// After deleting the account, the page says that every add-on was asked to erase (the API's
    /// answer carries that request as `addon_erasure`).
    @Test func theDeletedPageSaysEveryAddonWasAskedToErase() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            let email = "leaving@example.com"
            let (_, client) = try await daemon.signUp(email: email)
            #expect(
                try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]]).status == 201)
            #expect(try await client.send().status == 201)
            #expect(
                try await eventually(seconds: 30) {
                    !(try await client.get("/v1/account/addons/reporting/shares").data.isEmpty)
                })
            var (visitor, _) = try await Self.consoleSession(daemon, clock: clock, email: email)
            let deleted = try await visitor.submit("/console/delete", to: "/console/delete", [("confirm", "DELETE")])
            #expect(deleted.status == 200)
            // The report as JSON names the request...
            let requestID = try #require(
                ConsoleVisitor.capture(
                    #"addon_erasure&quot;\s*:\s*\{[\s\S]*?&quot;id&quot;\s*:\s*&quot;(er_[^&]+)&quot;"#,
                    in: deleted.text),
                "\(deleted.text)")
            // ...and the page says so in words.
            #expect(deleted.text.contains("asked to erase"), "\(deleted.text)")
            #expect(deleted.text.contains("<code>\(requestID)</code>"))
            #expect(try await client.get("/v1/account").status == 401)
        }
    }

    /// The console's sign-up is the API's: once the address has used its sign-ups, it is refused
    /// before the form is even checked, as `POST /v1/accounts` is, and says when to try again.
    @Test func consoleSignUpsCountAgainstTheAPIsThrottleAndAreRefusedEarly() async throws {
        try await withDaemon(configure: { $0.rateLimits.signupsPerAddress = 2 }) { daemon in
            _ = try await daemon.signUp()
            var visitor = ConsoleVisitor(daemon)
            let second = try await visitor.submit(
                "/console/sign-up", to: "/console/sign-up",
                [("name", "Ada"), ("email", "second@example.com"), ("password", Self.password)])
            #expect(second.status == 303)
            // Both counted: the API refuses a third.
            let api = try await daemon.client.post(
                "/v1/accounts", json: ["name": "Ada", "email": "third@example.com", "password": Self.password])
            #expect(api.status == 429)
            let apiWait = try #require(api.headers.first(name: "Retry-After"))

            var late = ConsoleVisitor(daemon)
            let valid = try await late.submit(
                "/console/sign-up", to: "/console/sign-up",
                [("name", "Ada"), ("email", "third@example.com"), ("password", Self.password)])
            #expect(valid.status == 429)
            #expect(valid.headers.first(name: "Retry-After") != nil)
            #expect(late.cookies.keys.filter { $0 != "sb_form" }.isEmpty, "no session: \(late.cookies)")
            // A form that is also wrong is refused as the API refuses it: 429 before 422.
            let weak = try await late.submit(
                "/console/sign-up", to: "/console/sign-up",
                [("name", "Ada"), ("email", "fourth@example.com"), ("password", "short")])
            #expect(weak.status == 429)
            #expect(weak.headers.first(name: "Retry-After") != nil)
            let apiWeak = try await daemon.client.post(
                "/v1/accounts", json: ["name": "Ada", "email": "fourth@example.com", "password": "short"])
            #expect(apiWeak.status == 429)
            #expect(!apiWait.isEmpty)
            let accounts = try await daemon.admin.get("/v1/admin/accounts").data
            #expect(accounts.count == 2)
        }
    }
}
