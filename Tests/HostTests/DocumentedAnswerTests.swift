import Foundation
import Testing

/// What README.md, docs/api.md, docs/operators.md and docs/addons.md say the product answers, checked
/// against a real daemon on loopback.
@Suite struct DocumentedAnswerTests {
    /// docs/api.md, "Conventions" and `DELETE /v1/account/numbers/{number}`: path parameters are
    /// percent-decoded, so `%2B` (either case) and a plain `+` name the same number.
    @Test func aNumberInAPathMayBeWrittenWithPlusOrPercent2B() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            for path in ["%2B37255500000", "%2b37255500000", "+37255500000"] {
                #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)
                let released = try await client.delete("/v1/account/numbers/\(path)")
                #expect(released.status == 204, "\(path): \(released.text)")
                let again = try await client.delete("/v1/account/numbers/\(path)")
                #expect(again.status == 404, "\(path): \(again.text)")
                #expect(
                    again.json["detail"] as? String
                        == "number +37255500000 does not exist or belongs to another account.")
            }
        }
    }

    /// docs/api.md "Legal hold" and docs/operators.md "Handle a deletion request": a hold keeps the
    /// account's data, so erasing a number answers `409 Legal hold` and erases nothing; once the hold
    /// is lifted the same request is accepted. Deleting a contact is not held back.
    @Test func anErasureUnderALegalHoldIsRefusedAndErasesNothing() async throws {
        try await withDaemon { daemon in
            let (accountID, client) = try await daemon.signUp()
            let number = "+37255511111"
            #expect(try await client.post("/v1/contacts", json: ["number": number, "name": "Bob"]).status == 201)
            let other = try await client.post("/v1/contacts", json: ["number": "+37255522222", "name": "Eve"])
            let sent = try await client.send(to: number, body: "kept under the hold")
            let messageID = try #require(sent.json["id"] as? String)
            #expect(
                try await eventually {
                    try await client.get("/v1/messages/\(messageID)").json["status"] as? String == "delivered"
                })
            let hold = try await daemon.admin.put(
                "/v1/admin/accounts/\(accountID)/legal-hold", json: ["reason": "court order 2026-17"])
            #expect(hold.status == 200)

            let held = try await client.post("/v1/account/erasures", json: ["number": number])
            #expect(held.status == 409, "\(held.text)")
            #expect(held.json["title"] as? String == "Legal hold")
            #expect(
                held.json["detail"] as? String
                    == "an operator legal hold is set on this account; nothing is erased until it is lifted")
            #expect(try await client.get("/v1/contacts?q=%2B37255511111").data.count == 1)
            #expect(try await client.get("/v1/messages/\(messageID)").json["body"] as? String == "kept under the hold")

            let otherID = try #require(other.json["id"] as? String)
            #expect(try await client.delete("/v1/contacts/\(otherID)").status == 204)

            #expect(try await daemon.admin.delete("/v1/admin/accounts/\(accountID)/legal-hold").status == 200)
            let accepted = try await client.post("/v1/account/erasures", json: ["number": number])
            #expect(accepted.status == 202, "\(accepted.text)")
            #expect(try await client.get("/v1/contacts?q=%2B37255511111").data.isEmpty)
            #expect(try await client.get("/v1/messages/\(messageID)").json["body"] == nil)
        }
    }

    /// README "Try it": grant Delivery Reports, then send; the report counts the message.
    @Test func aMessageSentAfterTheGrantIsInTheReport() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            let grant = try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]])
            #expect(grant.status == 201, "\(grant.text)")
            #expect(try await client.send(to: "+37255512345", from: "ACME", body: "Hello!").status == 201)
            #expect(
                try await eventually {
                    try await client.get("/v1/account/addons/reporting/reports").data.first?["delivered"] as? Int == 1
                })
        }
    }

    /// Compliance Scrub receives `usage.from` with every outgoing message (its pre-send check), and
    /// the purpose the customer consents to says so, not only the inbound STOP case.
    @Test func complianceScrubSaysItReceivesTheSenderOfEveryOutgoingMessage() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            let addon = try await client.get("/v1/addons/compliance-scrub")
            let fields = addon.json["fields"] as? [[String: Any]] ?? []
            let purpose = try #require(fields.first { $0["id"] as? String == "usage.from" }?["purpose"] as? String)
            #expect(purpose.contains("each message you send"), "\(purpose)")
            #expect(purpose.contains("STOP or START"), "\(purpose)")

            #expect(
                try await client.put("/v1/account/addons/compliance-scrub", json: ["categories": ["usage"]]).status
                    == 201)
            #expect(try await client.send(to: "+37255512345", from: "ACME").status == 201)
            let shares = try await client.get("/v1/account/addons/compliance-scrub/shares").data
            let submit = try #require(shares.first { $0["event_type"] as? String == "message.submit" })
            #expect((submit["fields"] as? [String: Any])?["usage.from"] as? String == "clear", "\(submit)")
        }
    }
}
