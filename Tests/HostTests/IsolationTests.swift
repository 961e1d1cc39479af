import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// No account can read or change another account's data.
@Suite struct IsolationTests {
    @Test func accountsCannotReachEachOthersData() async throws {
        try await withDaemon { daemon in
            let (_, alice) = try await daemon.signUp()
            let (_, mallory) = try await daemon.signUp()
            let message = try #require(try await alice.send(body: "private").json["id"] as? String)
            let contact = try #require(
                try await alice.post("/v1/contacts", json: ["number": "+37255511111", "name": "Bob"]).json["id"]
                    as? String)
            let key = try #require(try await alice.get("/v1/account/keys").data.first?["id"] as? String)
            #expect(try await alice.post("/v1/account/numbers", json: ["number": "+37255599999"]).status == 201)

            #expect(try await mallory.get("/v1/messages/\(message)").status == 404)
            #expect(try await mallory.get("/v1/messages").data.isEmpty)
            #expect(try await mallory.get("/v1/contacts/\(contact)").status == 404)
            #expect(try await mallory.patch("/v1/contacts/\(contact)", json: ["name": "Eve"]).status == 404)
            #expect(try await mallory.delete("/v1/contacts/\(contact)").status == 404)
            #expect(try await mallory.get("/v1/contacts?q=Bob").data.isEmpty)
            #expect(try await mallory.delete("/v1/account/keys/\(key)").status == 404)
            #expect(try await mallory.post("/v1/account/numbers", json: ["number": "+37255599999"]).status == 409)
            #expect(try await mallory.delete("/v1/account/numbers/+37255599999").status == 404)
            let malloryLog = try await mallory.get("/v1/usage/requests").data
            #expect(
                !malloryLog.contains { $0["method"] as? String == "POST" && $0["path"] as? String == "/v1/messages" })
            #expect(
                !malloryLog.contains { $0["method"] as? String == "POST" && $0["path"] as? String == "/v1/contacts" })

            // Alice's data is untouched.
            #expect(try await alice.get("/v1/contacts/\(contact)").json["name"] as? String == "Bob")
            #expect(try await alice.get("/v1/account").status == 200)
        }
    }
}
