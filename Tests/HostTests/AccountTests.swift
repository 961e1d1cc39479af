import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

@Suite struct AccountTests {
    /// Live: the sign-in records the client's address, which only a real connection has.
    @Test func signUpReturnsIdAndKeyThatAuthenticate() async throws {
        try await withDaemon { daemon in
            let signUp = try await daemon.client.post(
                "/v1/accounts",
                json: [
                    "name": "Ada", "email": "Ada@Example.com", "company": "Analytical",
                    "password": "plum-harbor-violet-42",
                ])
            #expect(signUp.status == 201)
            let id = try #require(signUp.json["account_id"] as? String)
            let key = try #require(signUp.json["api_key"] as? String)
            let me = try await daemon.client.with(basic: (id, key)).get("/v1/account")
            #expect(me.status == 200)
            #expect(me.json["email"] as? String == "ada@example.com")
            #expect(me.json["company"] as? String == "Analytical")
            #expect(me.json["content_mode"] as? String == "store")
            // The sign-in is recorded in the background, batched with other writes.
            #expect(
                try await eventually {
                    try await daemon.client.with(basic: (id, key)).get("/v1/account")
                        .json["last_login_ip"] as? String == "127.0.0.1"
                })
            #expect(
                try await daemon.client.with(basic: (id, key)).get("/v1/account").json["last_login_at"]
                    is String)

            let wrong = try await daemon.client.with(basic: (id, key + "x")).get("/v1/account")
            #expect(wrong.status == 401)
            #expect(wrong.contentType == "application/problem+json")
            let none = try await daemon.client.get("/v1/account")
            #expect(none.status == 401)
        }
    }

    @Test func passwordPolicyIsEnforcedAndStated() async throws {
        try await TestDaemon.withRouter { daemon in
            for (password, fragment) in [
                ("short1!", "too short"), ("grace.hopper@example.com", "email"), ("password12345", "common"),
            ] {
                let response = try await daemon.client.post(
                    "/v1/accounts", json: ["name": "Grace", "email": "grace.hopper@example.com", "password": password])
                #expect(response.status == 422, "\(password)")
                #expect(response.errorFields == ["password"])
                #expect(response.text.contains(fragment), "\(response.text)")
                #expect(response.text.contains("12 to 128 characters"))
            }
        }
    }

    @Test func passwordIsStoredOnlyAsScryptHash() async throws {
        try await TestDaemon.withRouter { daemon in
            let (id, _) = try await daemon.signUp()
            let stored = try await daemon.daemon.accounts.writer.pool.read { db in
                try String.fetchOne(db, sql: "SELECT password_hash FROM accounts WHERE id = ?", arguments: [id])
            }
            let hash = try #require(stored)
            #expect(hash.hasPrefix("scrypt$"))
            #expect(!hash.contains("plum-harbor"))
            #expect(try await daemon.daemon.accounts.passwordMatches(accountID: id, password: "plum-harbor-violet-42"))
            #expect(try await !daemon.daemon.accounts.passwordMatches(accountID: id, password: "plum-harbor-violet-43"))
        }
    }

    @Test func duplicateEmailIsAConflict() async throws {
        try await TestDaemon.withRouter { daemon in
            _ = try await daemon.signUp(email: "dup@example.com")
            let again = try await daemon.client.post(
                "/v1/accounts", json: ["name": "B", "email": "DUP@example.com", "password": "plum-harbor-violet-42"])
            #expect(again.status == 409)
            #expect(again.errorFields == ["email"])
        }
    }

    @Test func apiKeysCanBeCreatedListedAndRevoked() async throws {
        try await TestDaemon.withRouter { daemon in
            let (id, client) = try await daemon.signUp()
            let created = try await client.post("/v1/account/keys", json: ["name": "ci"])
            #expect(created.status == 201)
            let secret = try #require(created.json["secret"] as? String)
            let keyID = try #require(created.json["id"] as? String)
            let listed = try await client.get("/v1/account/keys")
            #expect(listed.data.count == 2)
            #expect(listed.data.allSatisfy { $0["secret"] == nil })
            #expect(!listed.text.contains(secret))

            let second = daemon.client.with(basic: (id, secret))
            #expect(try await second.get("/v1/account").status == 200)
            #expect(try await client.delete("/v1/account/keys/\(keyID)").status == 204)
            #expect(try await second.get("/v1/account").status == 401)
            #expect(try await client.delete("/v1/account/keys/key_nonexistent").status == 404)

            let storedHashes = try await daemon.daemon.accounts.writer.pool.read { db in
                try String.fetchAll(db, sql: "SELECT secret_hash FROM api_keys")
            }
            #expect(!storedHashes.contains(secret))
            #expect(storedHashes.contains(secret.sha256Hex))
        }
    }

    @Test func loginWithPasswordStartsASession() async throws {
        try await TestDaemon.withRouter { daemon in
            let (id, _) = try await daemon.signUp(email: "login@example.com")
            let login = try await daemon.client.post(
                "/v1/login", json: ["email": "login@example.com", "password": "plum-harbor-violet-42"])
            #expect(login.status == 200)
            #expect(login.json["account_id"] as? String == id)
            #expect(login.json["api_key"] == nil)
            let token = try #require(login.json["session_token"] as? String)
            #expect(try await daemon.client.with(basic: (id, token)).get("/v1/account").status == 200)
            #expect(try await daemon.client.with(bearer: token).get("/v1/account").status == 200)
            let bad = try await daemon.client.post(
                "/v1/login", json: ["email": "login@example.com", "password": "wrong-password-123"])
            #expect(bad.status == 401)
        }
    }

    @Test func patchChangesProfileAndPasswordNeedsTheCurrentOne() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let patched = try await client.patch(
                "/v1/account", json: ["name": "Countess", "company": "Engines Ltd", "content_mode": "hash"])
            #expect(patched.status == 200)
            #expect(patched.json["name"] as? String == "Countess")
            #expect(patched.json["content_mode"] as? String == "hash")
            let bad = try await client.patch("/v1/account", json: ["content_mode": "shred", "name": 5])
            #expect(bad.status == 422)
            #expect(Set(bad.errorFields) == ["content_mode", "name"])
            let noCurrent = try await client.patch("/v1/account", json: ["password": "new-lantern-orchid-77"])
            #expect(noCurrent.errorFields == ["current_password"])
            let changed = try await client.patch(
                "/v1/account", json: ["password": "new-lantern-orchid-77", "current_password": "plum-harbor-violet-42"])
            #expect(changed.status == 200)
        }
    }

    /// Guesses at the present password count against the authentication throttle as sign-ins do:
    /// a stolen API key or session cannot try passwords without limit, then change the password
    /// and sign its owner out everywhere.
    @Test func guessesAtThePresentPasswordAreThrottled() async throws {
        try await TestDaemon.withRouter(configure: { $0.rateLimits.authFailures = 5 }) { daemon in
            let (_, client) = try await daemon.signUp()
            for index in 0..<5 {
                let guess = try await client.patch(
                    "/v1/account", json: ["password": "new-lantern-orchid-77", "current_password": "guess-\(index)"])
                #expect(guess.status == 422 && guess.errorFields == ["current_password"], "\(guess.text)")
            }
            let throttled = try await client.patch(
                "/v1/account", json: ["password": "new-lantern-orchid-77", "current_password": "plum-harbor-violet-42"])
            #expect(throttled.status == 429, "\(throttled.text)")
            #expect(throttled.headers.first(name: "Retry-After").flatMap { Int($0) } ?? 0 > 0)
        }
    }

    @Test func repeatedFailedAuthenticationIsThrottled() async throws {
        try await TestDaemon.withRouter(configure: { $0.rateLimits.authFailures = 5 }) { daemon in
            let (id, client) = try await daemon.signUp()
            let attacker = daemon.client.with(basic: (id, "sk_guess"))
            for _ in 0..<5 { #expect(try await attacker.get("/v1/account").status == 401) }
            let throttled = try await attacker.get("/v1/account")
            #expect(throttled.status == 429)
            let retryAfter = try #require(throttled.headers.first(name: "Retry-After").flatMap { Int($0) })
            #expect(retryAfter > 0)
            // The throttle is per address, so even the right key waits: guessing cannot be interleaved with it.
            #expect(try await client.get("/v1/account").status == 429)
        }
    }
}
