import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardAPI
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// The parts of the console's sign-in that are arithmetic: TOTP (RFC 6238 appendix B) and base32
/// (RFC 4648 section 10), and the country file.
@Suite struct ConsoleUnitTests {
    @Test func totpGivesTheCodesOfRFC6238AppendixB() {
        // The SHA-1 seed of the RFC's vectors; its 8-digit codes end in these 6 digits.
        let totp = TOTP(secret: Array("12345678901234567890".utf8))
        let vectors: [(Int64, String)] = [
            (59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"),
            (2_000_000_000, "279037"), (20_000_000_000, "353130"),
        ]
        for (seconds, code) in vectors {
            #expect(totp.code(step: totp.step(atMillis: seconds * 1000)) == code, "T = \(seconds)")
        }
        #expect(totp.matchingStep("287 082", atMillis: 59_000) == 1)
        #expect(totp.matchingStep("287082", atMillis: 89_000) == 1, "one step of drift is accepted")
        #expect(totp.matchingStep("287082", atMillis: 150_000) == nil, "three steps late is not")
        #expect(totp.matchingStep("28708", atMillis: 59_000) == nil)
        #expect(totp.matchingStep("２８７０８２", atMillis: 59_000) == nil, "only ASCII digits")
    }

    @Test func base32FollowsRFC4648() {
        let vectors = [
            "": "", "f": "MY", "fo": "MZXQ", "foo": "MZXW6", "foob": "MZXW6YQ", "fooba": "MZXW6YTB",
            "foobar": "MZXW6YTBOI",
        ]
        for (plain, encoded) in vectors {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded.lowercased() + "======") == Array(plain.utf8))
        }
        #expect(Base32.decode("MZ1W") == nil, "1 is not in the alphabet")
        let totp = TOTP.generate()
        #expect(totp.secret.count == 20)
        #expect(
            totp.provisioningURI(issuer: "Switchboard", account: "ada@example.com").hasPrefix(
                "otpauth://totp/Switchboard%3Aada@example.com?secret=\(totp.base32Secret)&issuer=Switchboard"))
    }

    @Test func countryFileReadsBothLayoutsAndNamesABadLine() throws {
        let text = """
            # network,country
            192.0.2.0/24,EE
            198.51.100.0,198.51.100.127,us
            2001:db8::/32,DE
            """
        let lookup = try CountryLookup(text: text, source: "countries.csv")
        #expect(lookup.country(of: "192.0.2.77") == "EE")
        #expect(lookup.country(of: "198.51.100.127") == "US")
        #expect(lookup.country(of: "198.51.100.128") == "--")
        #expect(lookup.country(of: "2001:db8::1") == "DE")
        #expect(lookup.country(of: "203.0.113.1") == "--")
        #expect(lookup.country(of: "not an address") == "--")
        #expect(CountryLookup().country(of: "192.0.2.1") == "--")
        #expect(throws: CountryLookup.LookupError.self) { try CountryLookup(text: "192.0.2.0/24,Estonia", source: "c") }
        do {
            _ = try CountryLookup(text: "192.0.2.0/24,EE\n10.0.0.0/99,FI", source: "countries.csv")
            Issue.record("a bad prefix was accepted")
        } catch let error as CountryLookup.LookupError {
            #expect(error.message.contains("countries.csv line 2"))
        }
    }
}

/// The `console` settings are read and checked like every other part of the configuration.
@Suite struct ConsoleConfigurationTests {
    @Test func settingsAreReadAndMistakesNamed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("config.json")
        try Data(
            #"{"console": {"idle_minutes": 0, "sms_account": "acc_x", "secure": true, "absolute_hours": 1000}}"#.utf8
        ).write(to: file)
        #expect {
            try ServeConfiguration.load(file: file.path)
        } throws: { error in
            let text = "\(error)"
            return text.contains("console.idle_minutes") && text.contains("console.sms_from")
                && text.contains("console.secure:") && text.contains("console.absolute_hours")
        }
        try Data(
            #"{"console": {"idle_minutes": 10, "absolute_hours": 2, "secure_cookies": true, "sms_account": "acc_x", "sms_from": "Codes"}}"#
                .utf8
        ).write(to: file)
        let config = try ServeConfiguration.load(file: file.path)
        #expect(config.console.idleMinutes == 10 && config.console.absoluteHours == 2)
        #expect(config.console.secureCookies == true && config.console.smsFrom == "Codes")
        #expect(ServeConfiguration().console.secureCookies == nil)

        // A countries file with a bad line stops the start and names the line.
        let countries = directory.appendingPathComponent("countries.csv")
        try "192.0.2.0/24,EE\n192.0.2.0/24,Estonia\n".write(to: countries, atomically: true, encoding: .utf8)
        do {
            let daemon = try await TestDaemon.start { $0.console.countriesFile = countries.path }
            await daemon.stop()
            Issue.record("the daemon started with a bad countries file")
        } catch let error as ConfigurationError {
            #expect("\(error)".contains("line 2"))
        }
    }

    /// The console's sign-up is `POST /v1/accounts` itself: the same field rules and messages, and
    /// the same early sign-up throttle, which refuses even a bad form once the address has used its
    /// sign-ups (a second set of rules would answer that form 422).
    @Test func signUpHasTheAPIsRulesAndThrottle() async throws {
        try await withDaemon(configure: { $0.rateLimits.signupsPerAddress = 1 }) { daemon in
            var visitor = ConsoleVisitor(daemon)
            let long = try await visitor.submit(
                "/console/sign-up", to: "/console/sign-up",
                [
                    ("name", String(repeating: "n", count: 201)), ("email", "long@example.com"),
                    ("password", ConsoleSessionTests.password),
                ])
            #expect(long.status == 422)
            #expect(long.text.contains("Name: must be at most 200 characters (got 201)"))
            #expect(long.text.contains(#"value="long@example.com""#))
            let noPassword = try await visitor.submit(
                "/console/sign-up", to: "/console/sign-up", [("name", "Ada"), ("email", "nopass@example.com")])
            #expect(noPassword.status == 422)
            #expect(noPassword.text.contains("Password: is required"))
            let created = try await visitor.submit(
                "/console/sign-up", to: "/console/sign-up",
                [("name", "Ada"), ("email", "ada@example.com"), ("password", ConsoleSessionTests.password)])
            #expect(created.status == 303)
            var another = ConsoleVisitor(daemon)
            let spent = try await another.submit(
                "/console/sign-up", to: "/console/sign-up",
                [("name", "Bob"), ("email", "not-an-email"), ("password", "x")])
            #expect(spent.status == 429)
            #expect(spent.headers.first(name: "Retry-After") != nil)
        }
    }

    @Test func secureCookiesCarryTheHostPrefix() async throws {
        try await withDaemon(configure: { $0.console.secureCookies = true }) { daemon in
            var visitor = ConsoleVisitor(daemon)
            let response = try await visitor.submit(
                "/console/sign-up", to: "/console/sign-up",
                [("name", "Ada"), ("email", "ada@example.com"), ("password", ConsoleSessionTests.password)])
            let cookies = response.headers[canonicalForm: "Set-Cookie"].map(String.init)
            #expect(
                cookies.contains {
                    $0.hasPrefix("__Host-sb_console=cons_") && $0.contains("Secure") && $0.contains("HttpOnly")
                        && $0.contains("SameSite=Strict") && $0.contains("Path=/")
                })
            #expect(cookies.contains { $0.hasPrefix("__Host-sb_device=dev_") && $0.contains("Max-Age=34560000") })
        }
    }
}

/// A browser without a browser: keeps the console's cookies and reads forms' CSRF tokens, over real
/// HTTP to a real daemon.
struct ConsoleVisitor {
    let baseURL: String
    var cookies: [String: String] = [:]
    var extraHeaders: [(String, String)] = []

    init(_ daemon: TestDaemon) { baseURL = daemon.baseURL }

    /// A client that shows redirects instead of following them, as the tests look at each one.
    static let http = HTTPClient(
        eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    private func send(_ method: HTTPMethod, _ path: String, body: Data?, headers: [(String, String)]) async throws
        -> TestClient.Response
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await Self.http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return TestClient.Response(
            status: Int(response.status.code), headers: response.headers, body: Data(buffer: bytes))
    }

    var cookieHeader: [(String, String)] {
        cookies.isEmpty ? [] : [("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))]
    }

    mutating func get(_ path: String) async throws -> TestClient.Response {
        let response = try await send(.GET, path, body: nil, headers: cookieHeader + extraHeaders)
        keep(response)
        return response
    }

    mutating func post(_ path: String, _ fields: [(String, String)]) async throws -> TestClient.Response {
        let body = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        let response = try await send(.POST, path, body: Data(body.utf8), headers: cookieHeader + extraHeaders)
        keep(response)
        return response
    }

    /// Posts an already encoded form body as it is.
    mutating func base(_ path: String, body: String) async throws -> TestClient.Response {
        let response = try await send(.POST, path, body: Data(body.utf8), headers: cookieHeader + extraHeaders)
        keep(response)
        return response
    }

    /// Posts a form of the page at `page`, with its CSRF token.
    mutating func submit(_ page: String, to action: String, _ fields: [(String, String)]) async throws
        -> TestClient.Response
    {
        let shown = try await get(page)
        return try await post(action, [("csrf", Self.csrf(in: shown.text) ?? "")] + fields)
    }

    private mutating func keep(_ response: TestClient.Response) {
        for header in response.headers[canonicalForm: "Set-Cookie"] {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0])
            let value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func csrf(in html: String) -> String? { capture(#"name="csrf" value="([^"]+)""#, in: html) }

    static func capture(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return String(text[range])
    }
}

/// The console's sign-in and session rules over real HTTP: the second factor at enrolment and
/// from a new browser or country, single-use codes, CSRF, expiry, sign-out everywhere, and that no
/// page shows another account's data.
@Suite(.serialized) struct ConsoleSessionTests {
    static let password = "plum-harbor-violet-42"

    /// Signs up through the console and enrols TOTP; returns the visitor (signed in) and the secret.
    static func enrolledCustomer(_ daemon: TestDaemon, clock: ManualWallClock, email: String) async throws -> (
        ConsoleVisitor, TOTP
    ) {
        var visitor = ConsoleVisitor(daemon)
        let signedUp = try await visitor.submit(
            "/console/sign-up", to: "/console/sign-up",
            [("name", "Ada Lovelace"), ("email", email), ("password", password)])
        #expect(signedUp.status == 303)
        #expect(signedUp.headers.first(name: "Location") == "/console/enrol")
        let enrol = try await visitor.get("/console/enrol")
        let secret = try #require(ConsoleVisitor.capture(#"id="totp-secret">([A-Z2-7]+)<"#, in: enrol.text))
        let totp = TOTP(secret: try #require(Base32.decode(secret)))
        let confirmed = try await visitor.post(
            "/console/enrol/totp",
            [("csrf", ConsoleVisitor.csrf(in: enrol.text) ?? ""), ("code", code(totp, clock))])
        // Post/Redirect/Get: the codes are on the page the answer leads to, once.
        #expect(confirmed.status == 303)
        let shownAt = try #require(confirmed.headers.first(name: "Location"))
        #expect(shownAt.hasPrefix("/console/settings/recovery-codes?once="))
        let codes = try await visitor.get(shownAt)
        #expect(codes.text.contains("Your recovery codes"))
        #expect(codes.text.components(separatedBy: "<li><code>").count - 1 == SecondFactors.recoveryCodeCount)
        #expect(try await visitor.get(shownAt).text.components(separatedBy: "<li><code>").count == 1, "shown once")
        return (visitor, totp)
    }

    static func code(_ totp: TOTP, _ clock: ManualWallClock) -> String {
        totp.code(step: totp.step(atMillis: clock.now().epochMillis))
    }

    @Test func enrolmentIsRequiredAndANewBrowserMustPassTheSecondFactor() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            var (first, totp) = try await Self.enrolledCustomer(daemon, clock: clock, email: "ada@example.com")
            let cookie = try #require(first.cookies["sb_console"])
            #expect(cookie.hasPrefix("cons_"))
            let messages = try await first.get("/console/messages")
            #expect(messages.status == 200)
            let policy = try #require(messages.headers.first(name: "Content-Security-Policy"))
            #expect(policy.contains("default-src 'none'") && !policy.contains("unsafe-inline"))
            #expect(messages.headers.first(name: "Cache-Control") == "no-store")

            // Another browser: no device cookie, so the password alone is not enough.
            var second = ConsoleVisitor(daemon)
            let signedIn = try await second.submit(
                "/console/sign-in", to: "/console/sign-in", [("email", "ADA@example.com"), ("password", Self.password)])
            #expect(signedIn.headers.first(name: "Location") == "/console/second-factor")
            #expect(
                try await second.get("/console/messages").headers.first(name: "Location") == "/console/second-factor")
            // The code the first browser used in this 30-second step does not work twice.
            let replay = try await second.submit(
                "/console/second-factor", to: "/console/second-factor",
                [("method", "totp"), ("code", Self.code(totp, clock))])
            #expect(replay.status == 401)
            clock.advance(by: 30)
            let passed = try await second.submit(
                "/console/second-factor", to: "/console/second-factor",
                [("method", "totp"), ("code", Self.code(totp, clock))])
            #expect(passed.status == 303)
            #expect(passed.headers.first(name: "Location") == "/console")
            #expect(try await second.get("/console/messages").status == 200)

            // The same browser next time: known, so no second factor.
            _ = try await second.submit("/console/messages", to: "/console/sign-out", [])
            let again = try await second.submit(
                "/console/sign-in", to: "/console/sign-in", [("email", "ada@example.com"), ("password", Self.password)])
            #expect(again.headers.first(name: "Location") == "/console")

            // A recovery code works once.
            var third = ConsoleVisitor(daemon)
            _ = try await third.submit(
                "/console/sign-in", to: "/console/sign-in", [("email", "ada@example.com"), ("password", Self.password)])
            let refused = try await first.submit(
                "/console/settings", to: "/console/settings/recovery-codes", [("password", "not-my-password")])
            #expect(refused.status == 401)
            #expect(refused.text.contains("Password: is not your password"))
            let blank = try await first.submit(
                "/console/settings", to: "/console/settings/recovery-codes", [("password", "")])
            #expect(blank.status == 422)
            #expect(blank.text.contains("Password: is required to make new recovery codes"))
            let made = try await first.submit(
                "/console/settings", to: "/console/settings/recovery-codes", [("password", Self.password)])
            #expect(made.status == 303)
            let shownAt = try #require(made.headers.first(name: "Location"))
            let codes = try await first.get(shownAt)
            let recovery = try #require(
                ConsoleVisitor.capture(#"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code>"#, in: codes.text))
            // Reloading the page neither shows the codes again nor makes new ones.
            let reloaded = try await first.get(shownAt)
            #expect(reloaded.status == 200)
            #expect(!reloaded.text.contains(recovery))
            #expect(reloaded.text.contains("shown only once"))
            let used = try await third.submit(
                "/console/second-factor", to: "/console/second-factor",
                [("method", "recovery"), ("code", recovery.uppercased())])
            #expect(used.status == 303)
            var fourth = ConsoleVisitor(daemon)
            _ = try await fourth.submit(
                "/console/sign-in", to: "/console/sign-in", [("email", "ada@example.com"), ("password", Self.password)])
            let reused = try await fourth.submit(
                "/console/second-factor", to: "/console/second-factor", [("method", "recovery"), ("code", recovery)])
            #expect(reused.status == 401)
        }
    }

    @Test func theAPIsSignInAsksTheSecondFactorTooOnceOneIsEnrolled() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            // Before enrolment the password is enough, as it always was.
            let (accountID, _) = try await daemon.signUp(email: "api@example.com")
            let plain = try await daemon.client.post(
                "/v1/login", json: ["email": "api@example.com", "password": Self.password])
            #expect(plain.status == 200)
            var visitor = ConsoleVisitor(daemon)
            _ = try await visitor.submit(
                "/console/sign-in", to: "/console/sign-in", [("email", "api@example.com"), ("password", Self.password)])
            let enrol = try await visitor.get("/console/enrol")
            let secret = try #require(ConsoleVisitor.capture(#"id="totp-secret">([A-Z2-7]+)<"#, in: enrol.text))
            let totp = TOTP(secret: try #require(Base32.decode(secret)))
            _ = try await visitor.post(
                "/console/enrol/totp",
                [("csrf", ConsoleVisitor.csrf(in: enrol.text) ?? ""), ("code", Self.code(totp, clock))])

            let missing = try await daemon.client.post(
                "/v1/login", json: ["email": "api@example.com", "password": Self.password])
            #expect(missing.status == 401)
            #expect(missing.errorFields == ["code"])
            #expect(missing.json["title"] as? String == "Second factor required")
            let wrong = try await daemon.client.post(
                "/v1/login", json: ["email": "api@example.com", "password": Self.password, "code": "000000"])
            #expect(wrong.status == 401 || Self.code(totp, clock) == "000000")
            clock.advance(by: 30)
            let right = try await daemon.client.post(
                "/v1/login",
                json: ["email": "api@example.com", "password": Self.password, "code": Self.code(totp, clock)])
            #expect(right.status == 200)
            #expect(right.json["account_id"] as? String == accountID)
        }
    }

    @Test func consentStartsUntickedAndBadFormsAreRefusedByField() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            var (visitor, _) = try await Self.enrolledCustomer(daemon, clock: clock, email: "boxes@example.com")
            let page = try await visitor.get("/console/addons/compliance-scrub")
            #expect(page.text.contains(#"value="content.body">"#) || page.text.contains(#"value="content.body" >"#))
            #expect(!page.text.contains(#"value="content.body" checked"#))
            let csrf = ConsoleVisitor.csrf(in: page.text) ?? ""
            let nul = try await visitor.post("/console/keys", [("csrf", csrf), ("name", "a\u{0}b")])
            #expect(nul.status == 422)
            #expect(nul.text.contains("name: must not contain U+0000"))
            let broken = try await visitor.base(
                "/console/keys", body: "csrf=\(ConsoleVisitor.encode(csrf))&name=%E2%82")
            #expect(broken.status == 422)
            #expect(broken.text.contains("name: is not valid form encoding"))
            let kept = try await visitor.submit("/console/numbers", to: "/console/numbers", [("number", "12345")])
            #expect(kept.status == 422)
            #expect(kept.text.contains(#"value="12345""#))
            let missing = try await visitor.get("/console/no-such-page")
            #expect(missing.status == 404)
            #expect(missing.headers.first(name: "Content-Security-Policy") != nil)
        }
    }

    @Test func aHeldAccountIsNotDeletedAndAPendingSessionCanSignOut() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            var (visitor, _) = try await Self.enrolledCustomer(daemon, clock: clock, email: "held@example.com")
            let accounts = try await daemon.admin.get("/v1/admin/accounts")
            let accountID = try #require(
                accounts.data.first { ($0["account"] as? [String: Any])?["email"] as? String == "held@example.com" }
                    .flatMap { ($0["account"] as? [String: Any])?["id"] as? String })
            #expect(
                try await daemon.admin.put(
                    "/v1/admin/accounts/\(accountID)/legal-hold", json: ["reason": "court order 7"]
                )
                .status == 200)
            #expect(try await visitor.get("/console/delete").text.contains("legal hold is set"))
            let asked = try await visitor.submit("/console/delete", to: "/console/delete", [("confirm", "DELETE")])
            #expect(asked.status == 303)
            let held = try await visitor.get(try #require(asked.headers.first(name: "Location")))
            #expect(held.status == 200)
            #expect(held.text.contains("Nothing was erased"))
            #expect(!held.text.contains("court order 7"))
            #expect(held.text.contains("erased as soon as the hold is lifted"))
            let waiting = try await visitor.get("/console/delete")
            #expect(waiting.text.contains("it waits on the hold"))
            #expect(
                !waiting.text.contains(#"action="/console/delete""#), "a deletion already asked is not offered again")
            #expect(try await visitor.get("/console/messages").status == 200)

            // A browser stuck at the second factor can still sign out, and then has no session.
            var other = ConsoleVisitor(daemon)
            _ = try await other.submit(
                "/console/sign-in", to: "/console/sign-in",
                [("email", "held@example.com"), ("password", Self.password)])
            let signedOut = try await other.submit("/console/second-factor", to: "/console/sign-out", [])
            #expect(signedOut.headers.first(name: "Location") == "/console/sign-in")
            #expect(try await other.get("/console/second-factor").headers.first(name: "Location") == "/console/sign-in")
        }
    }

    /// The profile and the password change through `PATCH /v1/account`, with its rules and errors;
    /// a new password ends every sign-in, the console's own included.
    @Test func theProfileAndThePasswordCanBeChanged() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            var (visitor, _) = try await Self.enrolledCustomer(daemon, clock: clock, email: "mary@example.com")
            let settings = try await visitor.get("/console/settings")
            #expect(settings.text.contains(#"value="Ada Lovelace""#))
            let refused = try await visitor.submit(
                "/console/settings", to: "/console/settings/profile",
                [("name", "Mary Somerville"), ("email", "not-an-address"), ("company", "")])
            #expect(refused.status == 422)
            #expect(refused.text.contains("must be an email address"))
            #expect(refused.text.contains(#"value="Mary Somerville""#), "what was typed is kept")
            #expect(refused.text.contains(#"value="not-an-address""#))
            let long = try await visitor.submit(
                "/console/settings", to: "/console/settings/profile",
                [("name", String(repeating: "n", count: 201)), ("email", "mary@example.com")])
            #expect(long.status == 422)
            #expect(long.text.contains("must be at most 200 characters"))
            #expect(!long.text.contains("non-empty"), "one message for one problem")
            let saved = try await visitor.submit(
                "/console/settings", to: "/console/settings/profile",
                [("name", "Mary Somerville"), ("email", "Mary@Example.com"), ("company", "Royal Society")])
            #expect(saved.status == 303)
            let shown = try await visitor.get(try #require(saved.headers.first(name: "Location")))
            #expect(shown.text.contains("Profile saved."))
            #expect(shown.text.contains(#"value="Mary Somerville""#))
            #expect(shown.text.contains(#"value="Royal Society""#))

            let wrong = try await visitor.submit(
                "/console/settings", to: "/console/settings/password",
                [("current_password", "not-my-password"), ("password", "quartz-meadow-lantern-77")])
            #expect(wrong.status == 422)
            #expect(wrong.text.contains("current_password"))
            let weak = try await visitor.submit(
                "/console/settings", to: "/console/settings/password",
                [("current_password", Self.password), ("password", "password")])
            #expect(weak.status == 422)
            let changed = try await visitor.submit(
                "/console/settings", to: "/console/settings/password",
                [("current_password", Self.password), ("password", "quartz-meadow-lantern-77")])
            #expect(changed.status == 303)
            #expect(changed.headers.first(name: "Location") == "/console/sign-in?after=password")
            #expect(try await visitor.get("/console/sign-in?after=password").text.contains("Your password is changed"))
            // This browser's session ended with the old password.
            #expect(try await visitor.get("/console/settings").headers.first(name: "Location") == "/console/sign-in")
            let old = try await visitor.submit(
                "/console/sign-in", to: "/console/sign-in",
                [("email", "mary@example.com"), ("password", Self.password)])
            #expect(old.status == 401)
            let again = try await visitor.submit(
                "/console/sign-in", to: "/console/sign-in",
                [("email", "mary@example.com"), ("password", "quartz-meadow-lantern-77")])
            #expect(again.status == 303, "\(again.text)")
        }
    }

    @Test func formsNeedTheSessionsTokenAndSessionsEndIdleAndEverywhere() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock, configure: { $0.console.idleMinutes = 30 }) { daemon in
            var (visitor, _) = try await Self.enrolledCustomer(daemon, clock: clock, email: "grace@example.com")
            let forged = try await visitor.post("/console/keys", [("csrf", "forged"), ("name", "stolen")])
            #expect(forged.status == 403)
            let missing = try await visitor.post("/console/keys", [("name", "stolen")])
            #expect(missing.status == 403)
            let made = try await visitor.submit("/console/keys", to: "/console/keys", [("name", "billing")])
            #expect(made.status == 303)
            let shownAt = try #require(made.headers.first(name: "Location"))
            #expect(shownAt.hasPrefix("/console/keys?once="))
            let shown = try await visitor.get(shownAt)
            let secret = try #require(ConsoleVisitor.capture(#"id="new-key">(sk_[^<]+)<"#, in: shown.text))
            // A reload shows the secret no more and creates no second key.
            let reloaded = try await visitor.get(shownAt)
            #expect(!reloaded.text.contains(secret))
            #expect(reloaded.text.contains("shown only once"))
            #expect(reloaded.text.components(separatedBy: "<td>billing</td>").count == 2, "one key named billing")

            // Sign-in from another site's page is refused before the password is checked.
            var elsewhere = ConsoleVisitor(daemon)
            elsewhere.extraHeaders = [("Origin", "https://evil.example")]
            let crossSite = try await elsewhere.submit(
                "/console/sign-in", to: "/console/sign-in",
                [("email", "grace@example.com"), ("password", Self.password)])
            #expect(crossSite.status == 403)
            elsewhere.extraHeaders = [("Sec-Fetch-Site", "cross-site"), ("Origin", "null")]
            #expect(
                try await elsewhere.submit(
                    "/console/sign-in", to: "/console/sign-in",
                    [("email", "grace@example.com"), ("password", Self.password)]
                )
                .status == 403)
            // Without this browser's form token a sign-in is refused, also with no Origin or
            // Fetch Metadata to judge by (an old browser): a page elsewhere cannot read the token,
            // nor pass off another browser's.
            var bare = ConsoleVisitor(daemon)
            let tokenless = try await bare.post(
                "/console/sign-in", [("email", "grace@example.com"), ("password", Self.password)])
            #expect(tokenless.status == 403 && tokenless.text.contains("Form expired"), "\(tokenless.text)")
            let theirs = try #require(ConsoleVisitor.csrf(in: try await elsewhere.get("/console/sign-in").text))
            #expect(theirs.hasPrefix("frm_"))
            for (action, fields) in [
                ("/console/sign-in", [("email", "grace@example.com"), ("password", Self.password)]),
                (
                    "/console/sign-up",
                    [("name", "Mallory"), ("email", "mallory@example.com"), ("password", Self.password)]
                ),
                ("/console/admin/sign-in", [("token", daemon.daemon.operatorToken)]),
            ] {
                #expect(try await bare.post(action, [("csrf", theirs)] + fields).status == 403, "\(action)")
            }
            #expect(bare.cookies.isEmpty, "no session was started, no token given: \(bare.cookies)")
            // A token planted in the cookie by someone who can set cookies for this host is not
            // signed by the daemon: refused, and the sign-in page replaces it.
            var planted = ConsoleVisitor(daemon)
            planted.cookies["sb_form"] = "frm_attacker.chosen"
            let plantedToken = try await planted.post(
                "/console/sign-in",
                [("csrf", "frm_attacker.chosen"), ("email", "grace@example.com"), ("password", Self.password)])
            #expect(plantedToken.status == 403, "\(plantedToken.text)")
            _ = try await planted.get("/console/sign-in")
            #expect(planted.cookies["sb_form"] != "frm_attacker.chosen")
            let replaced = planted.cookies["sb_form"] ?? ""
            #expect(replaced.hasPrefix("frm_") && replaced.contains("."), "\(replaced)")
            // What browsers send from the console's own page under its referrer policy.
            elsewhere.extraHeaders = [("Sec-Fetch-Site", "same-origin")]
            #expect(
                try await elsewhere.submit(
                    "/console/sign-in", to: "/console/sign-in",
                    [("email", "grace@example.com"), ("password", Self.password)]
                )
                .status == 303)

            clock.advance(by: 29 * 60)
            #expect(try await visitor.get("/console/keys").status == 200, "a request restarts the idle clock")
            clock.advance(by: 31 * 60)
            let idle = try await visitor.get("/console/keys")
            #expect(idle.status == 303)
            #expect(idle.headers.first(name: "Location") == "/console/sign-in")

            // Sign out everywhere ends console sessions and the API's sign-in sessions.
            var (other, hopperTOTP) = try await Self.enrolledCustomer(daemon, clock: clock, email: "hopper@example.com")
            clock.advance(by: 30)
            let login = try await daemon.client.post(
                "/v1/login",
                json: ["email": "hopper@example.com", "password": Self.password, "code": Self.code(hopperTOTP, clock)])
            let token = try #require(login.json["session_token"] as? String)
            let accountID = try #require(login.json["account_id"] as? String)
            let api = daemon.client.with(basic: (accountID, token))
            #expect(try await api.get("/v1/account").status == 200)
            let ended = try await other.submit("/console/settings", to: "/console/sign-out-everywhere", [])
            #expect(ended.headers.first(name: "Location") == "/console/sign-in")
            #expect(try await api.get("/v1/account").status == 401)
            #expect(try await other.get("/console/settings").headers.first(name: "Location") == "/console/sign-in")
        }
    }

    @Test func noPageShowsAnotherAccountsData() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            var (owner, _) = try await Self.enrolledCustomer(daemon, clock: clock, email: "owner@example.com")
            var (stranger, _) = try await Self.enrolledCustomer(daemon, clock: clock, email: "stranger@example.com")
            let sent = try await owner.submit(
                "/console/messages", to: "/console/messages",
                [("to", "+37255512345"), ("from", "ACME"), ("body", "private words")])
            #expect(sent.status == 303)
            let location = try #require(sent.headers.first(name: "Location"))
            let shown = try await owner.get(location)
            #expect(shown.text.contains("private words"))
            // Timestamps read as people write them, not as RFC 3339.
            #expect(
                ConsoleVisitor.capture(#"queued at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC)"#, in: shown.text) != nil)
            let peek = try await stranger.get(location)
            #expect(peek.status == 404)
            #expect(!peek.text.contains("private words"))
            #expect(!(try await stranger.get("/console/messages").text.contains("private words")))
            // A customer's session is not an operator's.
            #expect(
                try await stranger.get("/console/admin/audit").headers.first(name: "Location")
                    == "/console/admin/sign-in")
            // Bad input names the field and keeps what was typed.
            let bad = try await owner.submit(
                "/console/messages", to: "/console/messages",
                [("to", "55512345"), ("from", "ACME"), ("body", "kept text")])
            #expect(bad.status == 422)
            #expect(bad.text.contains("to:") && bad.text.contains("kept text"))
        }
    }

    @Test func aNewCountryAsksTheSecondFactorAgain() async throws {
        let clock = ManualWallClock()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sb-countries-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let countries = directory.appendingPathComponent("countries.csv")
        try "127.0.0.0/8,EE\n192.0.2.0/24,FI\n".write(to: countries, atomically: true, encoding: .utf8)
        try await withDaemon(
            clock: clock,
            configure: {
                $0.console.countriesFile = countries.path
                $0.trustedProxies = ["127.0.0.1"]
            }
        ) { daemon in
            var (visitor, totp) = try await Self.enrolledCustomer(daemon, clock: clock, email: "lin@example.com")
            _ = try await visitor.submit("/console/settings", to: "/console/sign-out", [])
            let home = try await visitor.submit(
                "/console/sign-in", to: "/console/sign-in", [("email", "lin@example.com"), ("password", Self.password)])
            #expect(home.headers.first(name: "Location") == "/console", "same browser, same country")
            _ = try await visitor.submit("/console/settings", to: "/console/sign-out", [])
            visitor.extraHeaders = [("X-Forwarded-For", "192.0.2.10")]
            let abroad = try await visitor.submit(
                "/console/sign-in", to: "/console/sign-in", [("email", "lin@example.com"), ("password", Self.password)])
            #expect(abroad.headers.first(name: "Location") == "/console/second-factor")
            let page = try await visitor.get("/console/second-factor")
            #expect(page.text.contains("(FI)"))
            clock.advance(by: 30)
            let passed = try await visitor.post(
                "/console/second-factor",
                [
                    ("csrf", ConsoleVisitor.csrf(in: page.text) ?? ""), ("method", "totp"),
                    ("code", Self.code(totp, clock)),
                ])
            #expect(passed.headers.first(name: "Location") == "/console")
        }
    }

    @Test func theOperatorSignsInWithTheTokenAndSeesAddonsAuditAndVerification() async throws {
        try await withDaemon { daemon in
            var visitor = ConsoleVisitor(daemon)
            let wrong = try await visitor.submit(
                "/console/admin/sign-in", to: "/console/admin/sign-in", [("token", "not-the-token")])
            #expect(wrong.status == 401)
            let right = try await visitor.submit(
                "/console/admin/sign-in", to: "/console/admin/sign-in", [("token", daemon.daemon.operatorToken)])
            #expect(right.headers.first(name: "Location") == "/console/admin/addons")
            let addons = try await visitor.get("/console/admin/addons")
            #expect(addons.status == 200)
            #expect(addons.text.contains("com.switchboard.reporting"))
            let verify = try await visitor.get("/console/admin/verify")
            #expect(verify.text.contains("The ledger verifies"))
            #expect(verify.text.contains("No checkpoint yet"))
            // Shares recorded and a checkpoint signed: the page lists it; an edited record is named.
            let (_, client) = try await daemon.signUp()
            #expect(try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]]).status == 201)
            #expect(try await client.send().status == 201)
            #expect(try await eventually(seconds: 30) { try await LedgerTests.sharedEvents(daemon) >= 2 })
            let checkpoint = try #require(try await daemon.daemon.ledger.checkpoint())
            let signed = try await visitor.get("/console/admin/verify")
            #expect(signed.text.contains("<td>#\(checkpoint.seq)</td><td>periodic</td>"), "\(signed.text)")
            #expect(signed.text.contains("<code>\(checkpoint.hash)</code>"))
            try await daemon.daemon.addons.writer.pool.write { db in
                try db.execute(sql: "UPDATE ledger SET fields = 'usage.to:clear' WHERE seq = 1")
            }
            let broken = try await visitor.get("/console/admin/verify")
            #expect(broken.text.contains("The ledger does not verify at record 1"), "\(broken.text)")
            let typo = try await visitor.get("/console/admin/audit?addon=reportnig")
            #expect(typo.status == 404)
            #expect(typo.text.contains("is not a known add-on; use one of"))
            let csv = try await visitor.get("/console/admin/audit/download?addon=reporting&format=csv")
            #expect(csv.status == 200)
            #expect(csv.contentType?.hasPrefix("text/csv") == true)
            let xml = try await visitor.get("/console/admin/audit/download?addon=reporting&format=xml")
            #expect(xml.status == 422 && xml.text.contains("must be csv or ndjson"), "\(xml.status)")
            // An operator session is not a customer's.
            #expect(try await visitor.get("/console/messages").headers.first(name: "Location") == "/console/sign-in")
        }
    }

    /// The operator's accounts page says when lifting a hold will erase an account, answers its
    /// forms with a redirect, and offers no hold on an erased account.
    @Test func theOperatorSeesAWaitingDeletionBeforeLiftingAHold() async throws {
        try await withDaemon { daemon in
            let (held, client) = try await daemon.signUp()
            let (gone, goneClient) = try await daemon.signUp()
            #expect(try await goneClient.delete("/v1/account").json["status"] as? String == "erased")
            var visitor = ConsoleVisitor(daemon)
            _ = try await visitor.submit(
                "/console/admin/sign-in", to: "/console/admin/sign-in", [("token", daemon.daemon.operatorToken)])
            let set = try await visitor.submit(
                "/console/admin/accounts", to: "/console/admin/accounts/\(held)/legal-hold",
                [("reason", "court order 9")])
            #expect(set.status == 303)
            let shown = try await visitor.get(try #require(set.headers.first(name: "Location")))
            #expect(shown.text.contains("Legal hold set on \(held)"))
            #expect(
                !shown.text.contains("/console/admin/accounts/\(gone)/legal-hold"), "no hold form for an erased account"
            )
            #expect(try await client.delete("/v1/account").json["status"] as? String == "held")
            #expect(
                try await visitor.get("/console/admin/accounts").text.contains("lifting the hold erases the account"))
            let lifted = try await visitor.submit(
                "/console/admin/accounts", to: "/console/admin/accounts/\(held)/legal-hold/lift", [])
            #expect(lifted.status == 303)
            let after = try await visitor.get(try #require(lifted.headers.first(name: "Location")))
            #expect(after.text.contains("the deletion its customer asked for under the hold is carried out"))
            #expect(try await client.get("/v1/account").status == 401)
            // The API refuses a hold on an erased account.
            let refused = try await daemon.admin.put(
                "/v1/admin/accounts/\(gone)/legal-hold", json: ["reason": "too late"])
            #expect(refused.status == 409)
            #expect(refused.json["title"] as? String == "Account erased")
            let unknown = try await daemon.admin.put("/v1/admin/accounts/acc_nope/legal-hold", json: ["reason": "x"])
            #expect(unknown.status == 404)
            #expect((unknown.json["detail"] as? String)?.contains("GET /v1/admin/accounts lists them") == true)
        }
    }
}

/// SMS as the second factor: codes go out through Switchboard's own messaging, as the account the
/// operator named, and work once within their time.
@Suite(.serialized) struct ConsoleSMSTests {
    /// The newest message the sender account sent to `number`, and the 6-digit code in it.
    static func code(sentBy sender: TestClient, to number: String) async throws -> String {
        let messages = try await sender.get("/v1/messages?direction=outbound")
        let body = try #require(messages.data.first { $0["to"] as? String == number }?["body"] as? String)
        return try #require(ConsoleVisitor.capture(#"^(\d{6}) is your Switchboard sign-in code"#, in: body))
    }

    @Test func aCodeProvesOnlyItsNumberAndSendingCodesIsThrottled() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-sms-\(UUID().uuidString)")
        let first = try await TestDaemon.start(directory: directory)
        let (senderID, sender) = try await first.signUp(email: "codes@example.com", name: "Sign-in codes")
        await first.stop(removeData: false)
        try await withDaemon(
            directory: directory,
            configure: {
                $0.console.smsAccount = senderID
                $0.console.smsFrom = "Switchbrd"
                $0.rateLimits.authFailures = 3
            }
        ) { daemon in
            let codes = TestClient(baseURL: daemon.baseURL, basic: sender.basic)
            var visitor = ConsoleVisitor(daemon)
            _ = try await visitor.submit(
                "/console/sign-up", to: "/console/sign-up",
                [("name", "Eve"), ("email", "eve@example.com"), ("password", ConsoleSessionTests.password)])
            let sent = try await visitor.submit(
                "/console/enrol", to: "/console/enrol/sms", [("number", "+37255500001")])
            let code = try await Self.code(sentBy: codes, to: "+37255500001")
            // The right code with another number than the one it went to enrols nothing.
            let swapped = try await visitor.post(
                "/console/enrol/sms/confirm",
                [("csrf", ConsoleVisitor.csrf(in: sent.text) ?? ""), ("number", "+37255500002"), ("code", code)])
            #expect(swapped.status == 422)
            #expect(try await visitor.get("/console/messages").headers.first(name: "Location") == "/console/enrol")
            // Each code costs a text: the fourth within the window is refused.
            var statuses: [Int] = []
            for _ in 0..<3 {
                statuses.append(
                    try await visitor.submit("/console/enrol", to: "/console/enrol/sms", [("number", "+37255500003")])
                        .status)
            }
            #expect(statuses == [200, 200, 429])
        }
    }

    @Test func aNewOperatorTokenEndsOperatorSessions() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-op-\(UUID().uuidString)")
        let first = try await TestDaemon.start(directory: directory) { $0.operatorToken = "first-operator-token-0001" }
        var visitor = ConsoleVisitor(first)
        _ = try await visitor.submit(
            "/console/admin/sign-in", to: "/console/admin/sign-in", [("token", "first-operator-token-0001")])
        #expect(try await visitor.get("/console/admin/accounts").status == 200)
        await first.stop(removeData: false)
        try await withDaemon(directory: directory, configure: { $0.operatorToken = "second-operator-token-002" }) {
            second in
            var again = ConsoleVisitor(second)
            again.cookies = visitor.cookies
            let refused = try await again.get("/console/admin/accounts")
            #expect(refused.headers.first(name: "Location") == "/console/admin/sign-in")
        }
    }

    @Test func aCustomerEnrolsAPhoneAndSignsInWithACodeSentBySMS() async throws {
        let clock = ManualWallClock()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-sms-\(UUID().uuidString)")
        // The operator's own account that sends the codes, made before the console is told of it.
        let first = try await TestDaemon.start(clock: clock, directory: directory)
        let (senderID, sender) = try await first.signUp(email: "codes@example.com", name: "Sign-in codes")
        await first.stop(removeData: false)
        try await withDaemon(
            clock: clock, directory: directory,
            configure: {
                $0.console.smsAccount = senderID
                $0.console.smsFrom = "Switchbrd"
            }
        ) { daemon in
            let codes = TestClient(baseURL: daemon.baseURL, basic: sender.basic)

            var visitor = ConsoleVisitor(daemon)
            _ = try await visitor.submit(
                "/console/sign-up", to: "/console/sign-up",
                [("name", "Mary"), ("email", "mary@example.com"), ("password", ConsoleSessionTests.password)])
            let bad = try await visitor.submit("/console/enrol", to: "/console/enrol/sms", [("number", "5551234")])
            #expect(bad.status == 422)
            #expect(bad.text.contains("Mobile number:"))
            let sent = try await visitor.submit(
                "/console/enrol", to: "/console/enrol/sms", [("number", "+37255500001")])
            #expect(sent.status == 200)
            let code = try await Self.code(sentBy: codes, to: "+37255500001")
            let wrong = try await visitor.post(
                "/console/enrol/sms/confirm",
                [("csrf", ConsoleVisitor.csrf(in: sent.text) ?? ""), ("number", "+37255500001"), ("code", "000000")])
            #expect(wrong.status == 422 || code == "000000")
            let confirmed = try await visitor.post(
                "/console/enrol/sms/confirm",
                [("csrf", ConsoleVisitor.csrf(in: sent.text) ?? ""), ("number", "+37255500001"), ("code", code)])
            #expect(confirmed.status == 303)
            let recoveryPage = try await visitor.get(try #require(confirmed.headers.first(name: "Location")))
            #expect(recoveryPage.text.contains(#"id="recovery-codes""#), "\(recoveryPage.text)")
            #expect(try await visitor.get("/console/messages").status == 200)

            // A new browser: the second-factor page offers a code by SMS.
            var other = ConsoleVisitor(daemon)
            _ = try await other.submit(
                "/console/sign-in", to: "/console/sign-in",
                [("email", "mary@example.com"), ("password", ConsoleSessionTests.password)])
            let page = try await other.get("/console/second-factor")
            #expect(page.text.contains("+372•••••001"))
            let requested = try await other.post(
                "/console/second-factor/sms", [("csrf", ConsoleVisitor.csrf(in: page.text) ?? "")])
            #expect(requested.headers.first(name: "Location") == "/console/second-factor")
            let again = try await other.get("/console/second-factor")
            let second = try await Self.code(sentBy: codes, to: "+37255500001")
            // Past its 10 minutes a code is spent.
            clock.advance(by: 601)
            let late = try await other.post(
                "/console/second-factor",
                [("csrf", ConsoleVisitor.csrf(in: again.text) ?? ""), ("method", "sms"), ("code", second)])
            #expect(late.status == 401)
            _ = try await other.post(
                "/console/second-factor/sms", [("csrf", ConsoleVisitor.csrf(in: again.text) ?? "")])
            let third = try await Self.code(sentBy: codes, to: "+37255500001")
            // The page the browser is sent back to carries forms of its own (each render's are acted on once).
            let resent = try await other.get("/console/second-factor")
            let passed = try await other.post(
                "/console/second-factor",
                [("csrf", ConsoleVisitor.csrf(in: resent.text) ?? ""), ("method", "sms"), ("code", third)])
            #expect(passed.headers.first(name: "Location") == "/console")
        }
    }
}

/// A manifest that asks for more after the customer consented: the console shows the difference and
/// nothing new crosses until the customer accepts it.
@Suite struct ConsoleTermsChangeTests {
    @Test func aWiderManifestIsShownAsADifferenceToAcceptOrRefuse() async throws {
        let clock = ManualWallClock()
        let addons = FileManager.default.temporaryDirectory.appendingPathComponent("sb-terms-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: addons) }
        _ = try await AddonFixture.recorder(in: addons, version: "1.0.0", fields: [("usage.to", true, false)])
        try await withDaemon(clock: clock, configure: { $0.addons.directories = [addons.path] }) { daemon in
            var (visitor, _) = try await ConsoleSessionTests.enrolledCustomer(
                daemon, clock: clock, email: "terms@example.com")
            let granted = try await visitor.submit(
                "/console/addons/recorder", to: "/console/addons/recorder/grant", [("fields", "usage.to")])
            #expect(granted.status == 303)
            let before = try await visitor.get("/console/addons/recorder")
            #expect(!before.text.contains("This add-on changed its terms"))

            _ = try await AddonFixture.recorder(
                in: addons, version: "2.0.0", fields: [("usage.to", true, false), ("usage.status", false, false)])
            #expect(
                try await daemon.admin.post("/v1/admin/addons/com.example.recorder/reload", json: [:]).status == 200)
            let changed = try await visitor.get("/console/addons/recorder")
            #expect(changed.text.contains("This add-on changed its terms"))
            #expect(changed.text.contains("usage.status"))
            #expect(changed.text.contains("Accept the new terms"))
            #expect(changed.text.contains("Refuse the new terms and withdraw"))
            #expect(changed.text.contains("To refuse, do not accept"))

            // Refused (not accepted): the add-on goes on under the terms agreed to, without the new field.
            let (_, client, _) = try await ConsoleCoverageTests.apiKey(&visitor, daemon, name: "terms")
            func seen() -> [AddonFixture.Recorded] {
                AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder")
                    .filter { $0.what == "event" }
            }
            #expect(try await client.send(body: "under the old terms").status == 201)
            #expect(try await eventually(seconds: 30) { seen().contains { $0.type == "message.status" } })
            #expect(seen().allSatisfy { $0.fields["usage.status"] == nil }, "\(seen())")
            #expect(seen().contains { $0.fields["usage.to"] != nil })

            let accepted = try await visitor.submit(
                "/console/addons/recorder", to: "/console/addons/recorder/grant",
                [("fields", "usage.to"), ("fields", "usage.status")])
            let receipt = try await visitor.get(try #require(accepted.headers.first(name: "Location")))
            #expect(receipt.text.contains("<code>usage.status</code>"))
            #expect(receipt.text.contains("2.0.0"))
            #expect(!(try await visitor.get("/console/addons/recorder")).text.contains("This add-on changed its terms"))
            let accepting = seen().count
            #expect(try await client.send(body: "under the new terms").status == 201)
            #expect(
                try await eventually(seconds: 30) {
                    seen().dropFirst(accepting).contains { $0.fields["usage.status"] != nil }
                })

            // Withdrawn without erasure: a receipt says so, no erasure is asked of the add-on, and
            // nothing more reaches it.
            let withdrawn = try await visitor.submit(
                "/console/addons/recorder", to: "/console/addons/recorder/withdraw", [])
            #expect(withdrawn.status == 303)
            let withdrawal = try await visitor.get(try #require(withdrawn.headers.first(name: "Location")))
            #expect(withdrawal.text.contains("withdraw"), "\(withdrawal.text)")
            let erasures = try await client.get("/v1/account/erasures").json["data"] as? [[String: Any]]
            #expect(erasures?.isEmpty == true, "\(String(describing: erasures))")
            let after = seen().count
            #expect(try await client.send(body: "after withdrawal").status == 201)
            try await Task.sleep(for: .seconds(2))
            #expect(seen().count == after, "\(seen().dropFirst(after))")
        }
    }
}
