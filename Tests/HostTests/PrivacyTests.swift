import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

@Suite struct PrivacyTests {
    @Test func hashModeKeepsOnlyAKeyedDigestOnceDelivered() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            #expect(try await client.patch("/v1/account", json: ["content_mode": "hash"]).status == 200)
            let first = try #require(try await client.send(body: "secret code 1234").json["id"] as? String)
            let second = try #require(try await client.send(body: "secret code 1234").json["id"] as? String)
            #expect(
                try await eventually {
                    let statuses = try await client.get("/v1/messages").data.compactMap { $0["status"] as? String }
                    return statuses == ["delivered", "delivered"]
                })
            let a = try await client.get("/v1/messages/\(first)").json
            let b = try await client.get("/v1/messages/\(second)").json
            #expect(a["body"] == nil)
            let digest = try #require(a["body_digest"] as? String)
            #expect(digest.hasPrefix("hmac-sha256:"))
            #expect(digest == b["body_digest"] as? String)
            #expect(!digest.contains("secret"))
        }
    }

    @Test func hideModeKeepsNoBody() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            let before = try #require(try await client.send(body: "kept until hidden").json["id"] as? String)
            #expect(
                try await eventually {
                    try await client.get("/v1/messages/\(before)").json["status"] as? String == "delivered"
                })
            #expect(try await client.get("/v1/messages/\(before)").json["body"] as? String == "kept until hidden")
            // Switching applies to what is already stored, too.
            #expect(try await client.patch("/v1/account", json: ["content_mode": "hide"]).status == 200)
            #expect(try await client.get("/v1/messages/\(before)").json["body"] == nil)
            let after = try #require(try await client.send(body: "never kept").json["id"] as? String)
            #expect(
                try await eventually {
                    try await client.get("/v1/messages/\(after)").json["status"] as? String == "delivered"
                })
            let message = try await client.get("/v1/messages/\(after)").json
            #expect(message["body"] == nil)
            #expect(message["body_digest"] == nil)
        }
    }
}

@Suite struct DeletionTests {
    @Test func deletingTheAccountErasesPersonalDataAndSaysWhatWasKept() async throws {
        try await withDaemon { daemon in
            let (accountID, client) = try await daemon.signUp(email: "erase.me@example.com")
            _ = try await client.post("/v1/contacts", json: ["number": "+37255511111", "name": "Bob"])
            let message = try #require(try await client.send(body: "personal").json["id"] as? String)
            #expect(
                try await eventually {
                    try await client.get("/v1/messages/\(message)").json["status"] as? String == "delivered"
                })

            let erased = try await client.delete("/v1/account")
            #expect(erased.status == 200)
            #expect(erased.json["status"] as? String == "erased")
            #expect((erased.json["kept"] as? [[String: Any]])?.allSatisfy { $0["reason"] is String } == true)
            // The account can no longer be used, and its personal data is gone.
            #expect(try await client.get("/v1/account").status == 401)
            let account = try #require(try await daemon.daemon.accounts.find(id: accountID))
            #expect(account.name == nil && account.email == nil && account.status == .erased)
            let stored = try await daemon.daemon.messages.writer.pool.read { db in
                (
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM contacts WHERE account_id = ?", arguments: [accountID]) ?? -1,
                    try String.fetchOne(db, sql: "SELECT body FROM messages WHERE id = ?", arguments: [message])
                )
            }
            #expect(stored.0 == 0)
            #expect(stored.1 == nil)
            // The email address is free again.
            #expect(try await daemon.signUp(email: "erase.me@example.com").accountID != accountID)
        }
    }

    @Test func aLegalHoldKeepsEverythingAndSaysWhy() async throws {
        try await withDaemon { daemon in
            let (accountID, client) = try await daemon.signUp()
            _ = try await client.post("/v1/contacts", json: ["number": "+37255511111", "name": "Bob"])
            let hold = try await daemon.admin.put(
                "/v1/admin/accounts/\(accountID)/legal-hold", json: ["reason": "court order 2026-17"])
            #expect(hold.status == 200)
            #expect(try await daemon.admin.delete("/v1/admin/accounts/\(accountID)/legal-hold").status == 200)
            // Lifting a hold under which nobody asked for deletion erases nothing.
            let account = try await client.get("/v1/account")
            #expect(account.json["status"] as? String == "active")
            #expect(account.json["erasure_requested_at"] == nil)
            #expect(try await client.get("/v1/contacts").data.count == 1)
        }
    }

    /// GDPR article 17(3)(e) lets a legal hold keep the data; once it is lifted, 17(1) asks for the
    /// erasure without undue delay. A deletion asked for under the hold is kept (across a restart)
    /// and carried out by the lift itself, under the customer's own request.
    @Test func aDeletionAskedForUnderALegalHoldIsCarriedOutWhenItIsLifted() async throws {
        let first = try await TestDaemon.start()
        let (accountID, client) = try await first.signUp()
        _ = try await client.post("/v1/contacts", json: ["number": "+37255511111", "name": "Bob"])
        #expect(
            try await first.admin.put(
                "/v1/admin/accounts/\(accountID)/legal-hold", json: ["reason": "court order 2026-17"]
            ).status == 200)
        let held = try await client.delete("/v1/account")
        #expect(held.status == 200)
        #expect(held.json["status"] as? String == "held")
        #expect(held.json["addon_erasure"] == nil)
        #expect(held.text.contains("court order 2026-17"))
        #expect(held.text.contains("erased as soon as the hold is lifted"))
        #expect(try await client.get("/v1/contacts").data.count == 1)
        let requestedAt = try #require(try await client.get("/v1/account").json["erasure_requested_at"] as? String)
        // Asking again keeps the first request.
        #expect(try await client.delete("/v1/account").json["status"] as? String == "held")
        #expect(try await client.get("/v1/account").json["erasure_requested_at"] as? String == requestedAt)
        await first.stop(removeData: false)

        let second = try await TestDaemon.start(directory: first.directory)
        defer { try? FileManager.default.removeItem(at: first.directory) }
        let again = second.client.with(basic: client.basic)
        #expect(try await again.get("/v1/contacts").data.count == 1)
        let lifted = try await second.admin.delete("/v1/admin/accounts/\(accountID)/legal-hold")
        #expect(lifted.status == 200, "\(lifted.text)")
        #expect((lifted.json["account"] as? [String: Any])?["status"] as? String == "erased")
        #expect((lifted.json["account"] as? [String: Any])?["email"] == nil)
        let erasure = try #require(lifted.json["addon_erasure"] as? [String: Any])
        #expect((erasure["origin"] as? String)?.hasPrefix("api:key_") == true, "\(erasure)")
        #expect(erasure["subject"] as? String == "account")
        // The customer's keys are revoked with the rest.
        #expect(try await again.get("/v1/contacts").status == 401)
        let shown = try await second.admin.get("/v1/admin/accounts/\(accountID)")
        #expect((shown.json["account"] as? [String: Any])?["status"] as? String == "erased")
        #expect((shown.json["account"] as? [String: Any])?["erasure_requested_at"] == nil)
        await second.stop(removeData: false)
    }
}
