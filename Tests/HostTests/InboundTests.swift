import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

@Suite struct InboundTests {
    @Test func stopAndStartKeywordsControlSending() async throws {
        try await withDaemon { daemon in
            let (accountID, client) = try await daemon.signUp()
            #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)

            let stop = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": " stop "])
            #expect(stop.status == 201)
            #expect(stop.json["account_id"] as? String == accountID)
            #expect(stop.json["opt_out"] as? String == "opted_out")

            let refused = try await client.send(to: "+37255512345")
            #expect(refused.status == 422)
            #expect(refused.errorFields == ["to"])
            #expect(refused.text.contains("STOP"))
            #expect(try await client.get("/v1/account/opt-outs").data.first?["number"] as? String == "+37255512345")
            // Other recipients are unaffected.
            #expect(try await client.send(to: "+37255599999").status == 201)

            let start = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "START"])
            #expect(start.json["opt_out"] as? String == "opted_in")
            #expect(try await client.send(to: "+37255512345").status == 201)

            let inbound = try await client.get("/v1/messages?direction=inbound")
            #expect(inbound.data.count == 2)
            #expect(inbound.data.allSatisfy { $0["status"] as? String == "received" })
            // A range that ends before it starts is named, not answered with an empty page.
            let reversed = try await client.get(
                "/v1/messages?since=2026-12-04T00:00:00Z&until=2026-12-01T00:00:00Z")
            #expect(reversed.status == 422 && reversed.errorFields == ["until"], "\(reversed.text)")
        }
    }

    @Test func everyOptOutKeywordIsRecognised() {
        for word in ["STOP", "unsubscribe", "End", "QUIT", "cancel", "OPTOUT", "stop."] {
            #expect(OptOutKeyword.action(for: word)?.0 == .optedOut, "\(word)")
        }
        for word in ["START", "unstop"] { #expect(OptOutKeyword.action(for: word)?.0 == .optedIn) }
        #expect(OptOutKeyword.action(for: "please stop sending") == nil)
    }

    @Test func inboundToAnUnknownNumberIsRefused() async throws {
        try await withDaemon { daemon in
            let response = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255577777", "body": "hi"])
            #expect(response.status == 404)
            #expect(response.errorFields == ["to"])
        }
    }
}
