import Crypto
import Foundation
import GRDB
import Testing

/// Inbound webhooks: a message received on a number with `inbound_webhook` is posted there, signed
/// and retried like status callbacks.
@Suite struct InboundWebhookTests {
    @Test func inboundMessagesArePostedSignedAndRetried() async throws {
        try await CallbackReceiver.serving(failFirst: 1) { receiver, port in
            try await withDaemon { daemon in
                let (accountID, client) = try await daemon.signUp()
                let secret = try #require(try await client.get("/v1/account").json["webhook_signing_secret"] as? String)
                let url = "http://127.0.0.1:\(port)/status"
                let claimed = try await client.post(
                    "/v1/account/numbers", json: ["number": "+37255500000", "inbound_webhook": url])
                #expect(claimed.status == 201)
                #expect(claimed.json["inbound_webhook"] as? String == url)
                let inbound = try await daemon.admin.post(
                    "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "hi ☃"])
                #expect(inbound.status == 201)
                #expect(try await eventually { receiver.received.withLock { $0.count } >= 1 })
                let item = try #require(receiver.received.withLock { $0.first })
                let payload = try #require(try JSONSerialization.jsonObject(with: item.body) as? [String: Any])
                #expect(payload["status"] as? String == "received")
                #expect(payload["body"] as? String == "hi ☃")
                #expect(payload["from"] as? String == "+37255512345")
                #expect(payload["to"] as? String == "+37255500000")
                #expect(payload["account_id"] as? String == accountID)
                #expect(receiver.attempts.withLock { $0 } >= 2, "the first attempt failed and was retried")
                let signature = try #require(item.signature)
                let parts = Dictionary(
                    uniqueKeysWithValues: signature.split(separator: ",").map {
                        let pair = $0.split(separator: "=", maxSplits: 1)
                        return (String(pair[0]), String(pair[1]))
                    })
                var hmac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
                hmac.update(data: Data("\(try #require(parts["t"])).".utf8))
                hmac.update(data: item.body)
                #expect(parts["v1"] == Data(hmac.finalize()).map { String(format: "%02x", $0) }.joined())

                // Once delivered, the stored copy no longer holds the text.
                #expect(
                    try await eventually {
                        let payloads = try await daemon.daemon.accounts.writer.pool.read { db in
                            try Data.fetchAll(db, sql: "SELECT payload FROM callbacks")
                        }
                        return payloads.count == 1
                            && !String(decoding: payloads[0], as: UTF8.self).contains("body")
                    })

                // Cleared, no more posts; a private address is refused as for status_callback.
                let cleared = try await client.patch(
                    "/v1/account/numbers/+37255500000", json: ["inbound_webhook": NSNull()])
                #expect(cleared.status == 200)
                #expect(cleared.json["inbound_webhook"] == nil)
                _ = try await daemon.admin.post(
                    "/v1/admin/simulator/inbound",
                    json: ["from": "+37255512345", "to": "+37255500000", "body": "again"])
                try await Task.sleep(for: .milliseconds(500))
                #expect(receiver.received.withLock { $0.count } == 1)
                let refused = try await client.patch(
                    "/v1/account/numbers/+37255500000", json: ["inbound_webhook": "http://10.0.0.1/in"])
                #expect(refused.status == 422)
                #expect(refused.text.contains("inbound_webhook"))
                #expect(refused.text.contains("which webhooks and callbacks may not reach"), "\(refused.text)")
                // A port no connection can use is refused when set, not failed at every attempt.
                for port in ["0", "65536", "99999"] {
                    let impossible = try await client.patch(
                        "/v1/account/numbers/+37255500000", json: ["inbound_webhook": "https://example.com:\(port)/in"])
                    #expect(impossible.status == 422, "port \(port): \(impossible.text)")
                }
                let missing = try await client.patch(
                    "/v1/account/numbers/+37255599999", json: ["inbound_webhook": url])
                #expect(missing.status == 404)
            }
        }
    }

    /// The account's `inbound_webhook` serves every number without one of its own; a number's own
    /// webhook wins; null clears the account's.
    @Test func theAccountsWebhookServesNumbersWithoutTheirOwn() async throws {
        try await CallbackReceiver.serving { receiver, port in
            try await withDaemon { daemon in
                let (_, client) = try await daemon.signUp()
                let accountURL = "http://127.0.0.1:\(port)/status?to=account"
                let numberURL = "http://127.0.0.1:\(port)/status?to=number"
                let set = try await client.patch("/v1/account", json: ["inbound_webhook": accountURL])
                #expect(set.status == 200)
                #expect(set.json["inbound_webhook"] as? String == accountURL)
                #expect(try await client.get("/v1/account").json["inbound_webhook"] as? String == accountURL)
                #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)
                #expect(
                    try await client.post(
                        "/v1/account/numbers", json: ["number": "+37255500001", "inbound_webhook": numberURL]
                    ).status == 201)
                for (to, body) in [("+37255500000", "to the account's"), ("+37255500001", "to the number's")] {
                    let inbound = try await daemon.admin.post(
                        "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": to, "body": body])
                    #expect(inbound.status == 201)
                }
                #expect(try await eventually { receiver.received.withLock { $0.count } >= 2 })
                let paths = receiver.received.withLock { items in
                    Dictionary(
                        uniqueKeysWithValues: items.compactMap { item -> (String, String)? in
                            guard let payload = try? JSONSerialization.jsonObject(with: item.body) as? [String: Any],
                                let body = payload["body"] as? String
                            else { return nil }
                            return (body, item.uri)
                        })
                }
                #expect(paths == ["to the account's": "/status?to=account", "to the number's": "/status?to=number"])

                let refused = try await client.patch("/v1/account", json: ["inbound_webhook": "http://10.0.0.1/in"])
                #expect(refused.status == 422)
                #expect(refused.text.contains("inbound_webhook"))
                let cleared = try await client.patch("/v1/account", json: ["inbound_webhook": NSNull()])
                #expect(cleared.status == 200)
                #expect(cleared.json["inbound_webhook"] == nil)
                _ = try await daemon.admin.post(
                    "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "none"])
                try await Task.sleep(for: .milliseconds(500))
                #expect(receiver.received.withLock { $0.count } == 2)
            }
        }
    }
}
