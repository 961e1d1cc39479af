import AsyncHTTPClient
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// Authentication under abuse: parallel guessing, floods of expensive requests, enumeration, and
/// sign-in sessions in place of keys minted at every login.
@Suite struct AuthAbuseTests {
    static let password = "plum-harbor-violet-42"

    // MARK: Throttles hold under parallel bursts

    /// Live: 200 wrong passwords at once from one address, over 200 connections. Each attempt is
    /// counted before its hash, so at most the limit are checked and the rest are refused
    /// unchecked; the right password afterwards is refused too while throttled.
    @Test func parallelWrongPasswordsAreCountedBeforeTheyAreChecked() async throws {
        try await withDaemon(configure: { $0.rateLimits.authFailures = 10 }) { daemon in
            _ = try await daemon.signUp(email: "burst@example.com")
            let statuses = try await Burst.send(200, to: daemon) { index in
                ("/v1/login", ["email": "burst@example.com", "password": "wrong-guess-\(index)"], [])
            }
            let checked = statuses.filter { $0 == 401 }.count
            #expect(checked <= 10, "\(checked) wrong passwords were checked")
            #expect(checked >= 1)
            #expect(statuses.filter { $0 == 429 }.count == 200 - checked, "\(statuses)")
            let right = try await daemon.client.post(
                "/v1/login", json: ["email": "burst@example.com", "password": Self.password])
            #expect(right.status == 429)
            #expect(right.headers.first(name: "Retry-After").flatMap { Int($0) } ?? 0 > 0)
        }
    }

    /// The per-account limit holds across addresses: guesses at one email from many clients (here
    /// many addresses behind a trusted proxy) stop at the limit, and other accounts are unaffected.
    @Test func guessesAtOneAccountFromManyAddressesStopAtTheLimit() async throws {
        try await withDaemon(configure: {
            $0.rateLimits.authFailures = 5
            $0.trustedProxies = ["127.0.0.1/32"]
        }) { daemon in
            _ = try await daemon.signUp(email: "target@example.com")
            _ = try await daemon.signUp(email: "bystander@example.com")
            let statuses = try await Burst.send(60, to: daemon) { index in
                (
                    "/v1/login", ["email": "Target@example.com", "password": "wrong-guess-\(index)"],
                    [("X-Forwarded-For", "198.51.100.\(index + 1)")]
                )
            }
            #expect(statuses.filter { $0 == 401 }.count <= 5, "\(statuses)")
            let fresh = [("X-Forwarded-For", "203.0.113.77")]
            let right = try await daemon.client.request(
                .POST, "/v1/login", body: Self.json(["email": "target@example.com", "password": Self.password]),
                headers: fresh)
            #expect(right.status == 429)
            let other = try await daemon.client.request(
                .POST, "/v1/login", body: Self.json(["email": "bystander@example.com", "password": Self.password]),
                headers: fresh)
            #expect(other.status == 200)
        }
    }

    /// HTTP Basic: 100 different wrong keys at once are checked at most `auth_failures` times.
    @Test func parallelWrongKeysAreCountedBeforeTheyAreChecked() async throws {
        try await withDaemon(configure: { $0.rateLimits.authFailures = 10 }) { daemon in
            let (id, client) = try await daemon.signUp()
            let statuses = try await Burst.send(100, to: daemon) { index in
                let token = Data("\(id):sk_wrong\(index)".utf8).base64EncodedString()
                return ("/v1/account", nil, [("Authorization", "Basic \(token)")])
            }
            #expect(statuses.filter { $0 == 401 }.count <= 10, "\(statuses)")
            #expect(statuses.allSatisfy { $0 == 401 || $0 == 429 })
            #expect(try await client.get("/v1/account").status == 429)
        }
    }

    /// Forty requests with the same new key at once, under a limit of 2: the key is checked once
    /// for all of them, so none waits for a slot its siblings hold and none is refused.
    @Test func aBurstWithTheRightKeyIsNotThrottled() async throws {
        try await withDaemon(configure: { $0.rateLimits.authFailures = 2 }) { daemon in
            let (id, client) = try await daemon.signUp()
            let created = try await client.post("/v1/account/keys", json: ["name": "fresh"])
            let secret = try #require(created.json["secret"] as? String)
            let token = Data("\(id):\(secret)".utf8).base64EncodedString()
            let statuses = try await Burst.send(40, to: daemon) { _ in
                ("/v1/account", nil, [("Authorization", "Basic \(token)")])
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
        }
    }

    /// The operator token: 100 wrong tokens at once are compared at most `auth_failures` times.
    @Test func parallelWrongOperatorTokensAreCountedAsTheyAreChecked() async throws {
        try await withDaemon(configure: { $0.rateLimits.authFailures = 10 }) { daemon in
            let statuses = try await Burst.send(100, to: daemon) { index in
                ("/v1/admin/accounts", nil, [("Authorization", "Bearer op_wrong_guess_\(index)")])
            }
            #expect(statuses.filter { $0 == 401 }.count <= 10, "\(statuses)")
            #expect(try await daemon.admin.get("/v1/admin/accounts").status == 429)
        }
    }

    // MARK: Trusted proxies

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() throws {
        let proxies = ["10.0.0.0/8", "2001:db8:ffff::/48"].compactMap { IPNetwork(cidr: $0) }
        #expect(proxies.count == 2)
        let resolver = ClientAddressResolver(trustedProxies: proxies)
        // An untrusted peer's header is ignored: a client cannot choose its own address.
        #expect(resolver.clientAddress(peer: "198.51.100.9", forwardedFor: ["203.0.113.1"]) == "198.51.100.9")
        // The right-most address that is not a trusted proxy is the client.
        #expect(
            resolver.clientAddress(peer: "10.0.0.2", forwardedFor: ["1.2.3.4, 203.0.113.5", "10.1.1.1"])
                == "203.0.113.5")
        #expect(resolver.clientAddress(peer: "10.0.0.2", forwardedFor: ["203.0.113.5:4711"]) == "203.0.113.5")
        #expect(
            resolver.clientAddress(peer: "2001:db8:ffff::1", forwardedFor: ["[2001:db8:1::5]:443"]) == "2001:db8:1::5")
        // No header, or garbage in it: the last address a trusted hop vouches for.
        #expect(resolver.clientAddress(peer: "10.0.0.2", forwardedFor: []) == "10.0.0.2")
        #expect(resolver.clientAddress(peer: "10.0.0.2", forwardedFor: ["203.0.113.5, junk"]) == "10.0.0.2")
        // IPv4-mapped IPv6 is IPv4; without proxies nothing is believed.
        #expect(resolver.clientAddress(peer: "::ffff:10.0.0.2", forwardedFor: ["203.0.113.5"]) == "203.0.113.5")
        #expect(ClientAddressResolver().clientAddress(peer: "10.0.0.2", forwardedFor: ["203.0.113.5"]) == "10.0.0.2")
        // IPv6 clients are throttled by their /64.
        #expect(resolver.throttleKey(for: "2001:db8:1:2:aaaa::1") == resolver.throttleKey(for: "2001:db8:1:2::ffff"))
        #expect(resolver.throttleKey(for: "2001:db8:1:2::1") != resolver.throttleKey(for: "2001:db8:1:3::1"))
        #expect(resolver.throttleKey(for: "192.0.2.1") != resolver.throttleKey(for: "192.0.2.2"))
        #expect(resolver.signUpKey(for: "2001:db8:1:2::1") == resolver.signUpKey(for: "2001:db8:1:2::2"))
        #expect(resolver.signUpKey(for: "192.0.2.1") != resolver.throttleKey(for: "192.0.2.1"))
        for bad in ["10.0.0.0/33", "2001:db8::/129", "example.com", "10.0.0/8", ""] {
            #expect(IPNetwork(cidr: bad) == nil, "\(bad)")
        }
        #expect(IPNetwork(cidr: "10.1.2.3/8")?.description == "10.0.0.0/8")
    }

    /// Live: behind a trusted proxy each forwarded client has its own throttle; from an untrusted
    /// peer a forged `X-Forwarded-For` does not escape the peer's.
    @Test func theThrottleCountsTheForwardedClientOnlyBehindATrustedProxy() async throws {
        func failTwice(_ daemon: TestDaemon, as forwarded: String) async throws -> Int {
            var last = 0
            for _ in 0..<3 {
                last = try await daemon.client.request(
                    .POST, "/v1/login",
                    body: Self.json(["email": "nobody@example.com", "password": "wrong-password-1"]),
                    headers: [("X-Forwarded-For", forwarded)]
                ).status
            }
            return last
        }
        let limit: (inout ServeConfiguration) -> Void = { $0.rateLimits.authFailures = 2 }
        try await withDaemon(configure: {
            limit(&$0)
            $0.trustedProxies = ["127.0.0.1/32"]
        }) { daemon in
            #expect(try await failTwice(daemon, as: "198.51.100.1") == 429)
            // Another forwarded client is not throttled by the first one's failures. (The account
            // key "nobody@example.com" is spent too, so this one tries another email.)
            let other = try await daemon.client.request(
                .POST, "/v1/login", body: Self.json(["email": "else@example.com", "password": "wrong-password-1"]),
                headers: [("X-Forwarded-For", "198.51.100.2")])
            #expect(other.status == 401)
        }
        try await withDaemon(configure: limit) { daemon in
            #expect(try await failTwice(daemon, as: "198.51.100.1") == 429)
            let forged = try await daemon.client.request(
                .POST, "/v1/login", body: Self.json(["email": "else@example.com", "password": "wrong-password-1"]),
                headers: [("X-Forwarded-For", "198.51.100.2")])
            #expect(forged.status == 429)
        }
    }

    @Test func trustedProxiesAreCheckedInTheFileAndTheEnvironment() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-proxies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("config.json")
        try Data(
            #"{"trusted_proxies": ["10.0.0.0/8", "10.0.0.0/40"], "password_hashing": {"max_concurrent": 0}, "sessions": {"max_per_account": 3}}"#
                .utf8
        ).write(to: file)
        #expect {
            try ServeConfiguration.load(file: file.path)
        } throws: { error in
            let text = "\(error)"
            return text.contains("trusted_proxies[1]") && text.contains("10.0.0.0/40")
                && text.contains("password_hashing.max_concurrent")
        }
        try Data(#"{"trusted_proxies": ["192.0.2.0/24"], "sessions": {"max_per_account": 3}}"#.utf8).write(to: file)
        var config = try ServeConfiguration.load(file: file.path)
        #expect(config.trustedProxies == ["192.0.2.0/24"])
        #expect(config.sessions.maxPerAccount == 3)
        try config.applyEnvironment(["SWITCHBOARD_TRUSTED_PROXIES": "10.0.0.1, fd00::/8"])
        #expect(config.trustedProxies == ["10.0.0.1", "fd00::/8"])
        #expect(throws: ConfigurationError.self) {
            try config.applyEnvironment(["SWITCHBOARD_TRUSTED_PROXIES": "10.0.0.1,proxy.local"])
        }
    }

    // MARK: Expensive work is bounded

    /// In-process: at most `maxConcurrent` jobs run, `maxWaiting` wait, the next is refused at once
    /// with a Retry-After; a freed slot goes to the first waiter; a cancelled waiter leaves.
    @Test func theHashingPoolBoundsRunningAndWaitingWork() async throws {
        let pool = PasswordHashingPool(maxConcurrent: 1, maxWaiting: 1)
        let gate = DispatchSemaphore(value: 0)
        let first = Task { try await pool.run { gate.wait() } }
        #expect(try await eventually { pool.statistics.running == 1 })
        let second = Task { try await pool.run { 2 } }
        #expect(try await eventually { pool.statistics.waiting == 1 })
        await #expect(throws: PasswordHashingPool.Busy.self) { try await pool.run { 3 } }
        #expect(pool.statistics.refused == 1)
        gate.signal()
        try await first.value
        #expect(try await second.value == 2)
        let after = pool.statistics
        #expect(after.running == 0 && after.waiting == 0 && after.completed == 2 && after.refused == 1)

        let blocker = Task { try await pool.run { gate.wait() } }
        #expect(try await eventually { pool.statistics.running == 1 })
        let abandoned = Task { try await pool.run { 4 } }
        #expect(try await eventually { pool.statistics.waiting == 1 })
        abandoned.cancel()
        await #expect(throws: CancellationError.self) { try await abandoned.value }
        #expect(pool.statistics.waiting == 0)
        gate.signal()
        try await blocker.value
        #expect(try await pool.run { 5 } == 5)
    }

    /// Live: a flood of sign-ups beyond the pool's queue is refused with 503 and Retry-After, not
    /// queued without bound, while an API-key request (no scrypt) is answered.
    @Test func aSignUpFloodBeyondTheQueueIsRefusedAndKeysStillWork() async throws {
        try await withDaemon(configure: {
            $0.passwordCost = 15
            $0.passwordHashing.maxConcurrent = 1
            $0.passwordHashing.maxWaiting = 1
            $0.rateLimits.signupsPerAddress = 1000
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            async let flood = Burst.send(24, to: daemon) { index in
                (
                    "/v1/accounts",
                    ["name": "Flood", "email": "flood-\(index)@example.com", "password": Self.password], []
                )
            }
            let during = try await client.get("/v1/account")
            let statuses = try await flood
            #expect(during.status == 200)
            #expect(statuses.allSatisfy { $0 == 201 || $0 == 503 }, "\(statuses)")
            #expect(statuses.contains(503), "\(statuses)")
            #expect(statuses.contains(201))
        }
    }

    @Test func aRefusedSignUpSaysWhenToRetry() async throws {
        try await withDaemon(configure: {
            $0.passwordCost = 15
            $0.passwordHashing.maxConcurrent = 1
            $0.passwordHashing.maxWaiting = 0
        }) { daemon in
            let responses = try await Burst.responses(8, to: daemon) { index in
                (
                    "/v1/accounts", ["name": "R", "email": "retry-\(index)@example.com", "password": Self.password],
                    []
                )
            }
            let busy = try #require(responses.first { $0.status == 503 })
            #expect(busy.headers.first(name: "Retry-After").flatMap { Int($0) } ?? 0 >= 1)
            #expect(busy.contentType == "application/problem+json")
            #expect(busy.json["title"] as? String == "Server busy")
        }
    }

    /// Each address may make `signups_per_address` sign-ups per window; a 409 for a taken email
    /// counts (it tells that the email has an account), a 422 does not (nothing was hashed).
    @Test func takenEmailsCountAgainstTheSignUpThrottle() async throws {
        try await TestDaemon.withRouter(configure: { $0.rateLimits.signupsPerAddress = 3 }) { daemon in
            _ = try await daemon.signUp(email: "taken@example.com")
            for _ in 0..<3 {
                let invalid = try await daemon.client.post(
                    "/v1/accounts", json: ["name": "C", "email": "c@example.com", "password": "short"])
                #expect(invalid.status == 422)
            }
            for _ in 0..<2 {
                let again = try await daemon.client.post(
                    "/v1/accounts", json: ["name": "B", "email": "taken@example.com", "password": Self.password])
                #expect(again.status == 409)
            }
            let next = try await daemon.client.post(
                "/v1/accounts", json: ["name": "D", "email": "fresh@example.com", "password": Self.password])
            #expect(next.status == 429, "\(next.text)")
            #expect(next.json["title"] as? String == "Too many sign-ups")
            #expect(next.headers.first(name: "Retry-After").flatMap { Int($0) } ?? 0 > 0)
        }
    }

    // MARK: No account enumeration

    /// An unknown email, an erased account and a wrong password each cost exactly one password
    /// verification, and get the same answer.
    @Test func unknownEmailsCostTheSameHashAsWrongPasswords() async throws {
        try await TestDaemon.withRouter { daemon in
            _ = try await daemon.signUp(email: "known@example.com")
            let (_, erased) = try await daemon.signUp(email: "gone@example.com")
            #expect(try await erased.delete("/v1/account").status == 200)
            let pool = daemon.daemon.accounts.hashing
            var answers: [String] = []
            for email in ["known@example.com", "unknown@example.com", "gone@example.com"] {
                let before = pool.statistics.completed
                let response = try await daemon.client.post(
                    "/v1/login", json: ["email": email, "password": "wrong-password-123"])
                #expect(response.status == 401)
                #expect(pool.statistics.completed == before + 1, "\(email)")
                answers.append(response.json.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "&"))
            }
            #expect(Set(answers).count == 1, "\(answers)")
        }
    }

    // MARK: Sign-in sessions

    /// Signing in gives a session, never another permanent API key.
    @Test func signingInCreatesNoAPIKey() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp(email: "keys@example.com")
            for _ in 0..<3 {
                let login = try await daemon.client.post(
                    "/v1/login", json: ["email": "keys@example.com", "password": Self.password])
                #expect(login.status == 200)
                #expect(login.json["api_key"] == nil)
            }
            #expect(try await client.get("/v1/account/keys").data.count == 1)
        }
    }

    /// The session token works as `Bearer` and as the Basic password with its own account id only;
    /// it is listed (as current), can be ended, and is stored only as a hash.
    @Test func aSessionAuthenticatesIsListedAndCanBeEnded() async throws {
        try await TestDaemon.withRouter { daemon in
            let (id, _) = try await daemon.signUp(email: "session@example.com")
            let (otherID, _) = try await daemon.signUp()
            let login = try await daemon.client.post(
                "/v1/login", json: ["email": "session@example.com", "password": Self.password])
            #expect(login.status == 200)
            #expect(login.json["account_id"] as? String == id)
            let token = try #require(login.json["session_token"] as? String)
            let sessionID = try #require(login.json["session_id"] as? String)
            #expect(token.hasPrefix("sess_") && token.count == 48)
            #expect(sessionID.hasPrefix("ses_"))
            #expect(login.json["expires_at"] is String)

            let bearer = daemon.client.with(bearer: token)
            #expect(try await bearer.get("/v1/account").json["id"] as? String == id)
            #expect(try await daemon.client.with(basic: (id, token)).get("/v1/account").status == 200)
            #expect(try await daemon.client.with(basic: (otherID, token)).get("/v1/account").status == 401)

            let listed = try await bearer.get("/v1/account/sessions")
            #expect(listed.data.count == 1)
            #expect(listed.data.first?["id"] as? String == sessionID)
            #expect(listed.data.first?["current"] as? Bool == true)
            #expect(!listed.text.contains(token))
            let stored = try await daemon.daemon.accounts.writer.pool.read { db in
                try String.fetchAll(db, sql: "SELECT token_hash FROM sessions")
            }
            #expect(stored == [token.sha256Hex])

            // A new key can be made with the session: how a customer who lost every key gets one.
            #expect(try await bearer.post("/v1/account/keys", json: ["name": "recovered"]).status == 201)
            #expect(try await bearer.delete("/v1/account/sessions/\(sessionID)").status == 204)
            #expect(try await bearer.get("/v1/account").status == 401)
            #expect(try await daemon.client.with(basic: (id, token)).get("/v1/account").status == 401)
        }
    }

    /// Sessions end after `sessions.lifetime_seconds`, an account holds at most
    /// `sessions.max_per_account` (the oldest ends first), and a password change ends them all.
    @Test func sessionsExpireAreCappedAndEndWithAPasswordChange() async throws {
        let clock = ManualWallClock(Date())
        try await withDaemon(
            clock: clock,
            configure: {
                $0.sessions.lifetimeSeconds = 3600
                $0.sessions.maxPerAccount = 2
            }
        ) { daemon in
            let (_, client) = try await daemon.signUp(email: "cap@example.com")
            func logIn() async throws -> String {
                let login = try await daemon.client.post(
                    "/v1/login", json: ["email": "cap@example.com", "password": Self.password])
                return try #require(login.json["session_token"] as? String)
            }
            let tokens = [try await logIn(), try await logIn(), try await logIn()]
            #expect(try await daemon.client.with(bearer: tokens[0]).get("/v1/account").status == 401)
            #expect(try await daemon.client.with(bearer: tokens[2]).get("/v1/account").status == 200)
            #expect(try await client.get("/v1/account/sessions").data.count == 2)

            let late = try await logIn()
            clock.advance(by: 3601)
            #expect(try await daemon.client.with(bearer: late).get("/v1/account").status == 401)
            #expect(try await client.get("/v1/account/sessions").data.isEmpty)

            let fresh = try await logIn()
            let changed = try await client.patch(
                "/v1/account", json: ["password": "new-lantern-orchid-77", "current_password": Self.password])
            #expect(changed.status == 200)
            #expect(try await daemon.client.with(bearer: fresh).get("/v1/account").status == 401)
            #expect(try await client.get("/v1/account").status == 200)
        }
    }

    /// Erasing an account deletes its sessions in the same statement.
    @Test func erasureDeletesTheAccountsSessions() async throws {
        try await TestDaemon.withRouter { daemon in
            let (id, client) = try await daemon.signUp(email: "erase-me@example.com")
            let login = try await daemon.client.post(
                "/v1/login", json: ["email": "erase-me@example.com", "password": Self.password])
            #expect(login.status == 200)
            #expect(try await client.delete("/v1/account").status == 200)
            let left = try await daemon.daemon.accounts.writer.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sessions WHERE account_id = ?", arguments: [id])
            }
            #expect(left == 0)
        }
    }

    static func json(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
    }
}

/// Many requests at once over as many connections (the shared client keeps 8 per host).
enum Burst {
    typealias Request = (path: String, json: [String: Any]?, headers: [(String, String)])

    static func send(_ count: Int, to daemon: TestDaemon, _ request: @Sendable (Int) -> Request) async throws
        -> [Int]
    {
        try await responses(count, to: daemon, request).map(\.status)
    }

    static func responses(_ count: Int, to daemon: TestDaemon, _ request: @Sendable (Int) -> Request) async throws
        -> [TestClient.Response]
    {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(10), concurrentHTTP1ConnectionsPerHostSoftLimit: count)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let requests = (0..<count).map { index -> HTTPClientRequest in
            let spec = request(index)
            var built = HTTPClientRequest(url: daemon.baseURL + spec.path)
            if let json = spec.json {
                built.method = .POST
                built.headers.add(name: "Content-Type", value: "application/json")
                built.body = .bytes(ByteBuffer(bytes: AuthAbuseTests.json(json)))
            }
            for (name, value) in spec.headers { built.headers.add(name: name, value: value) }
            return built
        }
        do {
            let responses = try await withThrowingTaskGroup(of: TestClient.Response.self) { group in
                for built in requests {
                    group.addTask {
                        let response = try await client.execute(built, timeout: .seconds(60))
                        let body = try await response.body.collect(upTo: 1 << 20)
                        return TestClient.Response(
                            status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
                    }
                }
                return try await group.reduce(into: [TestClient.Response]()) { $0.append($1) }
            }
            try await client.shutdown()
            return responses
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
