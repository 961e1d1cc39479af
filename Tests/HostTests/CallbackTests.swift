import Crypto
import Foundation
import Hummingbird
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Synchronization
import Testing

/// A real HTTP receiver on 127.0.0.1 that fails its first `failFirst` requests.
final class CallbackReceiver: Sendable {
    struct Received: Sendable {
        var body: Data
        var signature: String?
        /// The request target, path and query (`/status?to=number`).
        var uri: String = ""
    }

    let received = Mutex<[Received]>([])
    let attempts = Mutex(0)
    let failFirst: Int
    /// How long each answer takes, counted from the request's arrival.
    let delay: Duration

    init(failFirst: Int, delay: Duration = .zero) {
        self.failFirst = failFirst
        self.delay = delay
    }

    func run(onPort: @escaping @Sendable (Int) async -> Void) async throws {
        let router = Router()
        router.post("status") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            let attempt = self.attempts.withLock { count -> Int in
                count += 1
                return count
            }
            if self.delay > .zero { try await Task.sleep(for: self.delay) }
            if attempt <= self.failFirst { return .internalServerError }
            self.received.withLock {
                $0.append(
                    Received(
                        body: Data(buffer: body),
                        signature: request.headers.first { $0.name.canonicalName == "switchboard-signature" }?.value,
                        uri: request.uri.description))
            }
            return .noContent
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { await onPort($0.localAddress?.port ?? 0) },
            // The receiver's own lines (started, cancelled on stop) are not what these tests check.
            logger: LogCapture().logger(label: "receiver", level: .critical))
        try await app.run()
    }

    /// Starts a receiver on a free loopback port, runs `body` with it and the port, then stops it.
    static func serving(
        failFirst: Int = 0, delay: Duration = .zero, _ body: (CallbackReceiver, Int) async throws -> Void
    ) async throws {
        let receiver = CallbackReceiver(failFirst: failFirst, delay: delay)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = Task { try await receiver.run { continuation.yield($0) } }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        try await body(receiver, port)
    }
}

@Suite struct CallbackTests {
    @Test func statusCallbacksAreSignedAndRetried() async throws {
        try await CallbackReceiver.serving(failFirst: 2) { receiver, port in
            try await withDaemon { daemon in
                let (accountID, client) = try await daemon.signUp()
                let secret = try #require(try await client.get("/v1/account").json["webhook_signing_secret"] as? String)
                let sent = try await client.send(callback: "http://127.0.0.1:\(port)/status")
                let id = try #require(sent.json["id"] as? String)
                // One callback for `sent`, one for `delivered`; the first two attempts fail and are retried.
                #expect(try await eventually(seconds: 30) { receiver.received.withLock { $0.count } >= 2 })
                let received = receiver.received.withLock { $0 }
                let payloads = received.compactMap {
                    try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any]
                }
                #expect(Set(payloads.compactMap { $0["status"] as? String }) == ["sent", "delivered"])
                #expect(
                    payloads.allSatisfy {
                        $0["message_id"] as? String == id && $0["account_id"] as? String == accountID
                    })
                #expect(receiver.attempts.withLock { $0 } >= 4)
                for item in received {
                    let signature = try #require(item.signature)
                    let parts = Dictionary(
                        uniqueKeysWithValues: signature.split(separator: ",").map {
                            let pair = $0.split(separator: "=", maxSplits: 1)
                            return (String(pair[0]), String(pair[1]))
                        })
                    let timestamp = try #require(parts["t"])
                    var hmac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
                    hmac.update(data: Data("\(timestamp).".utf8))
                    hmac.update(data: item.body)
                    let expected = Data(hmac.finalize()).map { String(format: "%02x", $0) }.joined()
                    #expect(parts["v1"] == expected)
                }
            }
        }
    }

    /// With an instant carrier the delivery report can overtake the commit that marks a message
    /// sent; every message still passes through `sent` once, with one callback per status.
    @Test func everyMessagePassesThroughSentOnceEvenWithAnInstantCarrier() async throws {
        try await CallbackReceiver.serving { receiver, port in
            try await withDaemon(configure: { $0.simulator.latencyMs = 0 }) { daemon in
                let (_, client) = try await daemon.signUp()
                let ids = try await withThrowingTaskGroup(of: [String].self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            var ids: [String] = []
                            for _ in 0..<25 {
                                let sent = try await client.send(callback: "http://127.0.0.1:\(port)/status")
                                if let id = sent.json["id"] as? String { ids.append(id) }
                            }
                            return ids
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                #expect(ids.count == 200)
                #expect(try await eventually(seconds: 20) { receiver.received.withLock { $0.count } >= 400 })
                try await Task.sleep(for: .milliseconds(300))
                let statuses = receiver.received.withLock { $0 }.compactMap {
                    (try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any]).flatMap { payload in
                        (payload["message_id"] as? String).map { ($0, payload["status"] as? String ?? "") }
                    }
                }
                #expect(statuses.count == 400)
                for id in ids {
                    #expect(statuses.filter { $0.0 == id }.map(\.1).sorted() == ["delivered", "sent"], "\(id)")
                }
                let unsent = try await daemon.daemon.messages.writer.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE sent_at IS NULL") ?? -1
                }
                #expect(unsent == 0)
            }
        }
    }

    /// `status_callback_events` narrows the callbacks to the statuses asked for; the message still
    /// passes through every status, and the answer shows what was asked.
    @Test func onlyTheStatusesAskedForAreCalledBack() async throws {
        try await CallbackReceiver.serving { receiver, port in
            try await withDaemon(configure: { $0.simulator.latencyMs = 0 }) { daemon in
                let (_, client) = try await daemon.signUp()
                let url = "http://127.0.0.1:\(port)/status"
                let finalOnly = try await client.post(
                    "/v1/messages",
                    json: [
                        "to": "+37255512345", "from": "ACME", "body": "outcome only", "status_callback": url,
                        "status_callback_events": ["failed", "delivered", "undelivered"],
                    ])
                #expect(finalOnly.status == 201)
                #expect(
                    finalOnly.json["status_callback_events"] as? [String] == ["delivered", "undelivered", "failed"])
                let everything = try await client.send(callback: url)
                #expect(
                    everything.json["status_callback_events"] as? [String] == [
                        "sent", "delivered", "undelivered", "failed",
                    ])
                let none = try await client.send()
                #expect(none.json["status_callback_events"] == nil)
                let finalID = try #require(finalOnly.json["id"] as? String)
                let everythingID = try #require(everything.json["id"] as? String)

                #expect(try await eventually { receiver.received.withLock { $0.count } >= 3 })
                try await Task.sleep(for: .milliseconds(300))
                let statuses = receiver.received.withLock { $0 }.compactMap {
                    (try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any]).flatMap { payload in
                        (payload["message_id"] as? String).map { ($0, payload["status"] as? String ?? "") }
                    }
                }
                #expect(statuses.filter { $0.0 == finalID }.map(\.1) == ["delivered"])
                #expect(statuses.filter { $0.0 == everythingID }.map(\.1).sorted() == ["delivered", "sent"])
                let shown = try await client.get("/v1/messages/\(finalID)")
                #expect(shown.json["status"] as? String == "delivered")
                #expect(shown.json["sent_at"] is String)
                #expect(shown.json["status_callback_events"] as? [String] == ["delivered", "undelivered", "failed"])
            }
        }
    }

    /// A webhook's redirect is not followed: the attempt counts as failed, with the status as the reason.
    @Test func redirectsAreNotFollowed() async throws {
        let followed = Mutex(0)
        let router = Router()
        router.post("moved") { _, _ -> Response in
            Response(status: .found, headers: [.location: "/elsewhere"])
        }
        router.post("elsewhere") { _, _ -> HTTPResponse.Status in
            followed.withLock { $0 += 1 }
            return .ok
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) },
            logger: LogCapture().logger(label: "receiver", level: .critical))
        let server = Task { try await app.run() }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        try await withDaemon(configure: { $0.simulator.latencyMs = 0 }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.post(
                "/v1/messages",
                json: [
                    "to": "+37255512345", "from": "ACME", "body": "hi",
                    "status_callback": "http://127.0.0.1:\(port)/moved",
                    "status_callback_events": ["delivered"],
                ])
            let pool = daemon.daemon.messages.writer.pool
            #expect(
                try await eventually {
                    try await pool.read { db in
                        try String.fetchOne(db, sql: "SELECT last_error FROM callbacks WHERE attempts >= 1")
                    } == "HTTP 302"
                })
            #expect(followed.withLock { $0 } == 0)
        }
    }
}
