import Foundation
import Testing

/// Path parameters are percent-decoded once, as docs/api.md says, on every route.
@Suite struct PathParameterTests {
    @Test func aPercentEncodedPathNamesWhatItsDecodedFormNames() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let addon = try await client.get("/v1/addons/%72eporting")
            #expect(addon.status == 200 && addon.json["id"] as? String == "com.switchboard.reporting", "\(addon.text)")
            let created = try await client.post("/v1/contacts", json: ["number": "+37255511141"])
            let id = try #require(created.json["id"] as? String)
            let encoded = id.utf8.map { String(format: "%%%02X", $0) }.joined()
            let contact = try await client.get("/v1/contacts/\(encoded)")
            #expect(contact.status == 200 && contact.json["number"] as? String == "+37255511141", "\(contact.text)")
            // Decoded once: %252B is the text %2B, not a plus sign.
            #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500007"]).status == 201)
            #expect(try await client.delete("/v1/account/numbers/%252B37255500007").status == 404)
            #expect(try await client.delete("/v1/account/numbers/%2B37255500007").status == 204)
            // A NUL would cut the id short in SQLite: the request would act on the real contact.
            let cut = try await client.patch("/v1/contacts/\(id)%00zz", json: ["name": "patched via NUL"])
            #expect(cut.status == 422 && cut.errorFields == ["id"], "\(cut.text)")
            #expect(try await client.get("/v1/contacts/\(id)").json["name"] == nil)
            let grant = try await client.put("/v1/account/addons/reporting", json: ["fields": [NSNull()]])
            #expect(grant.status == 422 && grant.text.contains("entry 1 is null"), "\(grant.text)")
        }
    }
}
