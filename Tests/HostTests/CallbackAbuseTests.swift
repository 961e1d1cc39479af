import Crypto
import Foundation
import GRDB
import NIOHTTP1
import SwitchboardCore
import SwitchboardDaemon
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP receiver on 127.0.0.1 that accepts every connection and never reads or answers: the
/// slow webhook receiver one tenant can point its callbacks at.
final class StalledReceiver: Sendable {
    let port: Int
    private let listener: Int32
    private let accepted = Mutex<[Int32]>([])

    /// Connections accepted so far.
    var connections: Int { accepted.withLock { $0.count } }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 256) == 0 else { throw TestFailure("cannot listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(listener, nil, nil)
                if connection < 0 { return }
                accepted.withLock { $0.append(connection) }
            }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for connection in accepted.withLock({ $0 }) { close(connection) }
    }
}

/// Status callbacks cannot be turned against the platform or other tenants: no callback reaches an
/// address inside the operator's network, a stalled receiver delays no other account's callbacks,
/// and a webhook secret can be rotated without a window in which callbacks fail verification.
@Suite struct CallbackAbuseTests {
    /// Forms of an address inside, each refused by default.
    static let insideURLs = [
        "http://127.0.0.1:8080/v1/account", "http://localhost:8080/x", "http://LOCALHOST./x", "http://api.localhost/x",
        "http://0.0.0.0:8080/x", "http://2130706433:8080/x", "http://0x7f000001:8080/x", "http://127.1:8080/x",
        "http://0177.0.0.1/x", "http://[::1]:8080/x", "http://[::ffff:127.0.0.1]/x", "http://[::ffff:7f00:1]/x",
        "http://[::]/x", "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://10.1.2.3/x", "http://172.16.0.1/x", "http://192.168.1.1/x", "http://100.64.0.1/x",
        "http://100.100.100.200/latest/meta-data/", "http://[fd00:ec2::254]/latest/meta-data/", "http://[fc00::1]/x",
        "http://[fe80::1%25eth0]/x", "http://224.0.0.1/x", "http://255.255.255.255/x", "http://[ff02::1]/x",
        "http://[64:ff9b::7f00:1]/x", "http://[2002:7f00:1::]/x", "https://[::ffff:169.254.169.254]/x",
    ]

    // MARK: The policy itself, without I/O

    @Test func everySpellingOfAnInsideAddressIsRefused() {
        let policy = CallbackTargetPolicy()
        for url in Self.insideURLs {
            #expect(policy.refusal(forURL: url) != nil, "\(url) was not refused")
        }
        for url in [
            "https://example.com/sms/status", "http://93.184.216.34/x", "https://[2606:4700:4700::1111]/x",
            "http://8.8.8.8:8080/x", "https://hooks.example.org:8443/status", "http://172.32.0.1/x",
            "http://100.128.0.1/x",
        ] {
            #expect(policy.refusal(forURL: url) == nil, "\(url) was refused")
        }
        let refusal = policy.refusal(forURL: "http://127.1/x")
        #expect(
            refusal?.description
                == "127.1 is 127.0.0.1, loopback (127.0.0.0/8), " + "which webhooks and callbacks may not reach")
    }

    /// Every address a name resolves to is checked, not only the first.
    @Test func aNameIsRefusedWhenAnyOfItsAddressesIsInside() throws {
        let policy = CallbackTargetPolicy()
        let public4 = try #require(HostAddress(literal: "93.184.216.34"))
        let loopback = try #require(HostAddress(literal: "127.0.0.1"))
        #expect(policy.refusal(host: "hooks.example.com", addresses: [public4]) == nil)
        let refusal = policy.refusal(host: "hooks.example.com", addresses: [public4, loopback])
        #expect(refusal?.address == loopback)
        #expect(refusal?.description.hasPrefix("hooks.example.com resolves to 127.0.0.1, loopback") == true)
    }

    @Test func theAllowListAdmitsOnlyWhatItNames() throws {
        let policy = try CallbackTargetPolicy(allowTargets: [
            "127.0.0.1", "10.0.0.0/8", "fd00::/8", "hooks.corp.example", "*.lab.example",
        ])
        let allowed = [
            "http://127.0.0.1:9000/x", "http://[::ffff:127.0.0.1]/x", "http://10.200.3.4/x", "http://[fd12::1]/x",
        ]
        for url in allowed { #expect(policy.refusal(forURL: url) == nil, "\(url)") }
        for url in ["http://127.0.0.2/x", "http://localhost/x", "http://192.168.1.1/x", "http://169.254.169.254/x"] {
            #expect(policy.refusal(forURL: url) != nil, "\(url)")
        }
        let loopback = try #require(HostAddress(literal: "127.0.0.5"))
        #expect(policy.refusal(host: "hooks.corp.example", addresses: [loopback]) == nil)
        #expect(policy.refusal(host: "a.lab.example", addresses: [loopback]) == nil)
        #expect(policy.refusal(host: "lab.example", addresses: [loopback]) != nil)
        #expect(policy.refusal(host: "hooks.corp.example.evil.test", addresses: [loopback]) != nil)

        let problems = CallbackTargetPolicy.problems(inAllowTargets: ["10.0.0.0/8", "not a host!", "1.2.3.4/99", ""])
        #expect(problems.map(\.field) == ["allow_targets[1]", "allow_targets[2]", "allow_targets[3]"])
        #expect(throws: ConfigurationError.self) { try CallbackTargetPolicy(allowTargets: ["10.0.0.0/33"]) }
    }

    @Test func theAllowListIsReadFromTheFileAndTheEnvironment() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sb-callbacks-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(
            #"{"callbacks": {"allow_targets": ["10.0.0.0/8", "hooks.corp.example"], "per_receiver_concurrency": 4, "secret_overlap_seconds": 3600}}"#
                .utf8
        ).write(to: file)
        var config = try ServeConfiguration.load(file: file.path)
        #expect(config.callbacks.allowTargets == ["10.0.0.0/8", "hooks.corp.example"])
        #expect(config.callbacks.perReceiverConcurrency == 4)
        #expect(config.callbacks.secretOverlapSeconds == 3600)
        try config.applyEnvironment(["SWITCHBOARD_CALLBACK_ALLOW_TARGETS": "127.0.0.1, ::1/128"])
        #expect(config.callbacks.allowTargets == ["127.0.0.1", "::1/128"])

        try Data(#"{"callbacks": {"allow_targets": ["10.0.0.0/8", "http://x/"]}}"#.utf8).write(to: file)
        let error = try #require(throws: ConfigurationError.self) { try ServeConfiguration.load(file: file.path) }
        #expect(error.problems.map(\.field) == ["callbacks.allow_targets[1]"])
        #expect(throws: ConfigurationError.self) {
            try config.applyEnvironment(["SWITCHBOARD_CALLBACK_ALLOW_TARGETS": "10.0.0.0/8,bad host"])
        }
    }

    @Test func slotsAreHeldPerReceiverPerAccountAndInAll() {
        var slots = CallbackSlots(limits: .init(perReceiver: 2, perAccount: 3, total: 5))
        func claim(_ id: Int64, _ receiver: String, _ account: String) -> Bool {
            slots.claim(id: id, receiver: receiver, account: account)
        }
        #expect(claim(1, "stalled:80", "a"))
        #expect(claim(2, "stalled:80", "a"))
        #expect(!claim(3, "stalled:80", "a"))
        #expect(slots.fullReceivers == ["stalled:80"])
        // The same account's other receiver proceeds, up to the account's limit.
        #expect(claim(4, "other:80", "a"))
        #expect(!claim(5, "third:80", "a"))
        #expect(slots.fullAccounts == ["a"])
        // Another account is not held by either.
        #expect(claim(6, "normal:443", "b"))
        #expect(claim(7, "normal:443", "b"))
        #expect(slots.isFull)
        #expect(!claim(8, "fresh:443", "c"))
        slots.release(id: 7)
        #expect(!claim(6, "normal:443", "b"), "a callback holds one slot at most")
        slots.release(id: 1)
        #expect(slots.fullReceivers.isEmpty && slots.fullAccounts.isEmpty && !slots.isFull)
        #expect(claim(3, "stalled:80", "a"))
        slots.release(id: 99)
        #expect(slots.count == 4)
        #expect(slots.inFlightIDs == [2, 3, 4, 6])
    }

    @Test func theSignatureListsOneValuePerSecret() {
        let body = Data(#"{"status":"sent"}"#.utf8)
        let both = StatusCallbackQueue.signature(
            secrets: ["whsec_new", "whsec_old"], timestamp: 1_795_346_060, body: body)
        let values = Self.signatures(both)
        #expect(values.timestamp == "1795346060")
        #expect(values.v1 == [Self.hmac("whsec_new", "1795346060", body), Self.hmac("whsec_old", "1795346060", body)])
        let one = StatusCallbackQueue.signature(secrets: ["whsec_new"], timestamp: 1_795_346_060, body: body)
        #expect(one == "t=1795346060,v1=" + Self.hmac("whsec_new", "1795346060", body))
    }

    // MARK: Secrets from the CSPRNG

    @Test func secretsAreFreshBase64URLOfTheRightLength() throws {
        let first = Identifier.randomToken(bytes: 32)
        let second = Identifier.randomToken(bytes: 32)
        #expect(first != second)
        #expect(first.count == 43 && second.count == 43)
        #expect(Identifier.randomToken(bytes: 24).count == 32)
        #expect(Identifier.randomToken(bytes: 1).count == 2)
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        #expect(first.allSatisfy(alphabet.contains) && second.allSatisfy(alphabet.contains))
        // 1000 tokens of 24 bytes: no repeat, and every character of the alphabet turns up.
        let many = (0..<1000).map { _ in Identifier.randomToken(bytes: 24) }
        #expect(Set(many).count == 1000)
        #expect(Set(many.joined()) == alphabet)
    }

    /// A secret is not taken from the identifiers' pool, where it would sit in memory before it is made.
    @Test func aSecretIsNotDrawnFromTheIdentifierPool() throws {
        _ = Identifier.make("x")  // the pool is filled
        let upcoming = Data(RandomBytes.shared.unusedBytes())
        #expect(upcoming.count >= 64)
        let token = Identifier.randomToken(bytes: 32)
        let bytes = try #require(Self.base64URLDecoded(token))
        #expect(bytes.count == 32)
        #expect(upcoming.range(of: bytes) == nil, "the secret's bytes were waiting in the identifier pool")
    }

    // MARK: Against a real daemon with the default policy

    /// By default callbacks and inbound webhooks go over https only: an `http://` URL is a 422
    /// naming the field and the operator's setting; the same URL over https is accepted.
    @Test func plainHTTPTargetsAreRefusedUnlessTheOperatorAllowsThem() async throws {
        try await withDaemon(configure: { $0.callbacks.allowHTTP = false }) { daemon in
            let (_, client) = try await daemon.signUp()
            let refused = try await client.send(callback: "http://hooks.example.com/status")
            #expect(refused.status == 422)
            #expect(refused.errorFields == ["status_callback"])
            #expect(refused.text.contains("must be an https URL"), "\(refused.text)")
            #expect(refused.text.contains("callbacks.allow_http"), "\(refused.text)")
            let webhook = try await client.post(
                "/v1/account/numbers",
                json: ["number": "+37255500000", "inbound_webhook": "http://hooks.example.com/in"])
            #expect(webhook.status == 422)
            #expect(webhook.text.contains("inbound_webhook"), "\(webhook.text)")
            #expect(try await client.send(callback: "https://hooks.example.com/status").status == 201)
        }
        // Allowed by the operator, the same http URL is accepted.
        try await withDaemon(configure: { $0.callbacks.allowHTTP = true }) { daemon in
            let (_, client) = try await daemon.signUp()
            #expect(try await client.send(callback: "http://hooks.example.com/status").status == 201)
        }
    }

    /// Submitting any inside target is a 422 naming `status_callback`; nothing is stored.
    @Test func insideTargetsAreRefusedAtSubmission() async throws {
        try await withDaemon(configure: { $0.callbacks.allowTargets = [] }) { daemon in
            let (_, client) = try await daemon.signUp()
            for url in Self.insideURLs {
                // Only the final statuses, with a carrier that never fails: no callback is ever
                // queued, whatever this answers.
                let response = try await client.post(
                    "/v1/messages",
                    json: [
                        "to": "+37255512345", "from": "ACME", "body": "hi", "status_callback": url,
                        "status_callback_events": ["undelivered"],
                    ])
                #expect(response.status == 422, "\(url): \(response.status)")
                #expect(response.errorFields == ["status_callback"], "\(url)")
                #expect(response.text.contains("callbacks may not reach"), "\(url): \(response.text)")
            }
            let stored = try await client.get("/v1/messages")
            #expect(stored.data.isEmpty)
            let accepted = try await client.send(callback: "https://hooks.example.com/status")
            #expect(accepted.status == 201)
        }
    }

    /// A callback whose target turns out to be inside when it is sent (a name that resolves to
    /// loopback, or a row queued before the policy applied) is refused at connection time: failed
    /// at once with the reason, logged, counted, and the receiver never hears of it.
    @Test func insideTargetsAreRefusedAtConnectionTime() async throws {
        try await CallbackReceiver.serving { receiver, port in
            try await withDaemon(configure: { $0.callbacks.allowTargets = [] }) { daemon in
                let (accountID, client) = try await daemon.signUp()
                let name = Self.nameResolvingToLoopback()
                var urls = [
                    "http://localhost:\(port)/status", "http://127.0.0.1:\(port)/status", "http://127.1:\(port)/status",
                    "http://2130706433:\(port)/status", "http://0x7f000001:\(port)/status",
                    "http://0.0.0.0:\(port)/status",
                    "http://[::ffff:127.0.0.1]:\(port)/status",
                ]
                if let name {
                    // Accepted when sent (a name is only resolved when the callback goes out), refused then.
                    let sent = try await client.post(
                        "/v1/messages",
                        json: [
                            "to": "+37255512345", "from": "ACME", "body": "hi",
                            "status_callback": "http://\(name):\(port)/status", "status_callback_events": ["delivered"],
                        ])
                    #expect(sent.status == 201, "\(sent.text)")
                } else {
                    urls.append("http://localhost.:\(port)/status")
                }
                // Rows as a callback queued before this policy applied would be.
                let queued = urls
                try await daemon.daemon.messages.writer.write { db in
                    for url in queued {
                        try db.execute(
                            sql: """
                                INSERT INTO callbacks (account_id, message_id, url, receiver, payload, next_attempt_at, created_at)
                                VALUES (?, 'msg_x', ?, 'r', X'7B7D', 0, 0)
                                """, arguments: [accountID, url])
                    }
                }
                let expected = urls.count + (name == nil ? 0 : 1)
                let pool = daemon.daemon.messages.writer.pool
                #expect(
                    try await eventually(seconds: 20) {
                        try await pool.read { db in
                            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM callbacks WHERE state = 'failed'") ?? 0
                        } == expected
                    })
                let rows = try await pool.read { db in
                    try Row.fetchAll(db, sql: "SELECT url, attempts, last_error FROM callbacks ORDER BY id")
                        .map { ($0["url"] as String, $0["attempts"] as Int, $0["last_error"] as String?) }
                }
                for (url, attempts, error) in rows {
                    #expect(attempts == 1, "\(url) was attempted \(attempts) times")
                    #expect(error?.hasPrefix("refused: ") == true, "\(url): \(error ?? "nil")")
                    #expect(error?.contains("loopback") == true || error?.contains("unspecified") == true, "\(url)")
                }
                #expect(receiver.attempts.withLock { $0 } == 0, "the daemon reached the receiver on loopback")
                let metrics = try await daemon.client.get("/metrics").text
                #expect(metrics.contains("switchboard_callback_attempts_total{outcome=\"refused\"} \(expected)"))
                #expect(daemon.logs.contains("callback refused", atLeast: .warning))
                #expect(!daemon.logs.lines().contains { $0.metadata.values.contains { $0.contains("\(port)") } })
            }
        }
    }

    /// One account's receiver that accepts and never answers does not hold another account's
    /// callbacks: those arrive within a bound while the stalled ones time out.
    @Test func aStalledReceiverDelaysNoOtherAccount() async throws {
        let stalled = try StalledReceiver()
        defer { stalled.stop() }
        // Long enough that a callback queued behind a stalled one would show, under a loaded machine too.
        let timeoutMs = 10_000
        try await CallbackReceiver.serving { receiver, port in
            try await withDaemon(configure: {
                $0.callbacks.timeoutMs = timeoutMs
                $0.simulator.latencyMs = 0
            }) { daemon in
                let (_, slowTenant) = try await daemon.signUp()
                let (_, otherTenant) = try await daemon.signUp()
                // More than one fetch's worth (64), so the other account's callbacks are behind a
                // backlog that only a fetch passing over the full receiver reaches.
                for _ in 0..<150 {
                    let sent = try await slowTenant.send(callback: "http://127.0.0.1:\(stalled.port)/status")
                    #expect(sent.status == 201)
                }
                // The stalled receiver holds its slots, and no more.
                #expect(try await eventually(seconds: 30) { stalled.connections >= 8 })
                let started = Date()
                for _ in 0..<10 {
                    let sent = try await otherTenant.send(callback: "http://127.0.0.1:\(port)/status")
                    #expect(sent.status == 201)
                }
                #expect(try await eventually(seconds: 20) { receiver.received.withLock { $0.count } >= 20 })
                let delay = Date().timeIntervalSince(started)
                print("callbacks of another account beside a stalled receiver: all 20 within \(delay) s")
                #expect(delay < Double(timeoutMs) / 2000, "the other account's callbacks took \(delay) s")

                // The stalled receiver's attempts time out and are retried.
                let pool = daemon.daemon.messages.writer.pool
                #expect(
                    try await eventually(seconds: 30) {
                        try await pool.read { db in
                            try Int.fetchOne(
                                db, sql: "SELECT COUNT(*) FROM callbacks WHERE last_error = ? AND state = 'pending'",
                                arguments: ["no answer within \(timeoutMs) ms"]) ?? 0
                        } >= 8
                    })
                let metrics = try await daemon.client.get("/metrics").text
                #expect(metrics.contains("switchboard_callback_attempts_total{outcome=\"timed_out\"}"))
            }
        }
    }

    // MARK: Webhook secret rotation

    @Test func afterRotationCallbacksVerifyWithBothSecretsUntilTheWindowEnds() async throws {
        try await CallbackReceiver.serving { receiver, port in
            try await withDaemon(configure: { $0.simulator.latencyMs = 0 }) { daemon in
                let (_, client) = try await daemon.signUp()
                let url = "http://127.0.0.1:\(port)/status"
                let old = try #require(try await client.get("/v1/account").json["webhook_signing_secret"] as? String)
                #expect(try await client.get("/v1/account/webhook-secret").json["previous_secret_expires_at"] == nil)

                let rotated = try await client.request(.POST, "/v1/account/webhook-secret/rotate")
                #expect(rotated.status == 200)
                let new = try #require(rotated.json["webhook_signing_secret"] as? String)
                #expect(new != old && new.hasPrefix("whsec_") && new.count == 6 + 32)
                let expires = try #require(rotated.json["previous_secret_expires_at"] as? String)
                let expiry = try #require(Self.date(expires))
                #expect(abs(expiry.timeIntervalSinceNow - 86_400) < 60, "the default window is 24 hours")
                #expect(try await client.get("/v1/account").json["webhook_signing_secret"] as? String == new)
                #expect(
                    try await client.get("/v1/account/webhook-secret").json["previous_secret_expires_at"] as? String
                        == expires)

                // In the window: two signatures, the new secret's first.
                let during = try await Self.callback(client, url, receiver, count: 1)
                #expect(during.v1.count == 2)
                #expect(during.v1.first == Self.hmac(new, during.timestamp, during.body))
                #expect(Self.verifies(old, during) && Self.verifies(new, during))

                // The customer ends the window: only the new secret's signature.
                #expect(try await client.delete("/v1/account/webhook-secret/previous").status == 204)
                let ended = try await Self.callback(client, url, receiver, count: 2)
                #expect(ended.v1 == [Self.hmac(new, ended.timestamp, ended.body)])
                #expect(!Self.verifies(old, ended))

                // A window that runs out by itself.
                let short = try await client.post("/v1/account/webhook-secret/rotate", json: ["overlap_seconds": 1])
                let newest = try #require(short.json["webhook_signing_secret"] as? String)
                try await Task.sleep(for: .milliseconds(1100))
                let afterWindow = try await Self.callback(client, url, receiver, count: 3)
                #expect(afterWindow.v1 == [Self.hmac(newest, afterWindow.timestamp, afterWindow.body)])
                #expect(!Self.verifies(new, afterWindow))
                #expect(try await client.get("/v1/account/webhook-secret").json["previous_secret_expires_at"] == nil)

                // No window at all.
                let immediate = try await client.post("/v1/account/webhook-secret/rotate", json: ["overlap_seconds": 0])
                #expect(immediate.status == 200 && immediate.json["previous_secret_expires_at"] == nil)
                let latest = try #require(immediate.json["webhook_signing_secret"] as? String)
                let now = try await Self.callback(client, url, receiver, count: 4)
                #expect(now.v1 == [Self.hmac(latest, now.timestamp, now.body)])
            }
        }
    }

    @Test func aRotationSaysWhatIsWrongWithItsWindow() async throws {
        try await withDaemon(configure: { $0.callbacks.secretOverlapSeconds = 120 }) { daemon in
            let (_, client) = try await daemon.signUp()
            for body: [String: Any] in [
                ["overlap_seconds": -1], ["overlap_seconds": 604_801], ["overlap_seconds": 1.5],
            ] {
                let response = try await client.post("/v1/account/webhook-secret/rotate", json: body)
                #expect(response.status == 422 && response.errorFields == ["overlap_seconds"], "\(body)")
            }
            let typo = try await client.post("/v1/account/webhook-secret/rotate", json: ["overlap": 60])
            #expect(typo.status == 422 && typo.errorFields == ["overlap"])
            let configured = try await client.request(.POST, "/v1/account/webhook-secret/rotate")
            let expires = try #require(configured.json["previous_secret_expires_at"] as? String)
            let expiry = try #require(Self.date(expires))
            #expect(abs(expiry.timeIntervalSinceNow - 120) < 30, "callbacks.secret_overlap_seconds is the default")
            let anonymous = try await daemon.client.post("/v1/account/webhook-secret/rotate", json: [:])
            #expect(anonymous.status == 401)
        }
    }

    /// Erasing the account drops the previous secret too: it is in no database file afterwards.
    @Test func erasureDropsThePreviousSecret() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("sb-rotated-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let daemon = try await TestDaemon.start(directory: dataDir)
        let (accountID, client) = try await daemon.signUp()
        let old = try #require(try await client.get("/v1/account").json["webhook_signing_secret"] as? String)
        let rotated = try await client.request(.POST, "/v1/account/webhook-secret/rotate")
        let new = try #require(rotated.json["webhook_signing_secret"] as? String)
        #expect(try ErasureEdgeTests.databaseBytes(dataDir).range(of: Data(old.utf8)) != nil)
        #expect(try await client.delete("/v1/account").status == 200)
        let pool = daemon.daemon.messages.writer.pool
        let previous = try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT webhook_secret_previous, webhook_secret_previous_until FROM accounts WHERE id = ?",
                arguments: [accountID]
            ).map { [$0[0] as String?, ($0[1] as Int64?).map(String.init)] }
        }
        #expect(previous == [nil, nil])
        // Nothing writes one back onto the erased account.
        try await daemon.daemon.messages.writer.write { db in
            try db.execute(
                sql:
                    "UPDATE accounts SET webhook_secret_previous = 'whsec_back', webhook_secret_previous_until = 1 WHERE id = ?",
                arguments: [accountID])
        }
        await daemon.stop(removeData: false)
        let bytes = try ErasureEdgeTests.databaseBytes(dataDir)
        #expect(bytes.range(of: Data(old.utf8)) == nil, "the previous webhook secret is still in the database files")
        #expect(bytes.range(of: Data(new.utf8)) == nil)
        #expect(bytes.range(of: Data("whsec_back".utf8)) == nil)
    }

    // MARK: Helpers

    struct Signed {
        var timestamp: String
        var v1: [String]
        var body: Data
    }

    /// Sends a message whose `delivered` status is called back, and returns the `count`th callback.
    static func callback(_ client: TestClient, _ url: String, _ receiver: CallbackReceiver, count: Int) async throws
        -> Signed
    {
        let sent = try await client.post(
            "/v1/messages",
            json: [
                "to": "+37255512345", "from": "ACME", "body": "hi", "status_callback": url,
                "status_callback_events": ["delivered"],
            ])
        #expect(sent.status == 201)
        #expect(try await eventually { receiver.received.withLock { $0.count } >= count })
        let item = try #require(receiver.received.withLock { $0.count >= count ? $0[count - 1] : nil })
        var signed = signatures(try #require(item.signature))
        signed.body = item.body
        return signed
    }

    static func signatures(_ header: String) -> Signed {
        var signed = Signed(timestamp: "", v1: [], body: Data())
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { signed.timestamp = pair[1] }
            if pair[0] == "v1" { signed.v1.append(pair[1]) }
        }
        return signed
    }

    /// What a receiver does with one secret: any `v1` value matches.
    static func verifies(_ secret: String, _ signed: Signed) -> Bool {
        signed.v1.contains(hmac(secret, signed.timestamp, signed.body))
    }

    static func hmac(_ secret: String, _ timestamp: String, _ body: Data) -> String {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
        hmac.update(data: Data("\(timestamp).".utf8))
        hmac.update(data: body)
        return Data(hmac.finalize()).map { String(format: "%02x", $0) }.joined()
    }

    /// An API timestamp (`2026-11-22T11:14:19.123Z`) as a date.
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    static func base64URLDecoded(_ text: String) -> Data? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard)
    }

    /// A name in /etc/hosts for a loopback address that is not one of the names refused without
    /// resolving (`localhost` and the like), or nil when the machine has none.
    static func nameResolvingToLoopback() -> String? {
        guard let hosts = try? String(contentsOfFile: "/etc/hosts", encoding: .utf8) else { return nil }
        let policy = CallbackTargetPolicy()
        for line in hosts.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count >= 2, !fields[0].hasPrefix("#"), fields[0].hasPrefix("127.") else { continue }
            if let name = fields.dropFirst().first(where: {
                policy.refusal(forName: $0) == nil && $0.contains { $0.isLetter }
            }) {
                return name
            }
        }
        return nil
    }
}
