import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

@Suite struct ContactTests {
    @Test func contactsCanBeCreatedReadUpdatedSearchedAndDeleted() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let created = try await client.post(
                "/v1/contacts",
                json: [
                    "number": "+37255511111", "name": "Bob Builder", "notes": "prefers evenings",
                    "groups": ["vip", "tallinn"],
                ])
            #expect(created.status == 201)
            let id = try #require(created.json["id"] as? String)
            _ = try await client.post("/v1/contacts", json: ["number": "+4915112345678", "name": "Berta"])
            _ = try await client.post(
                "/v1/contacts", json: ["number": "+37255522222", "name": "Carl", "groups": ["vip"]])

            #expect(try await client.get("/v1/contacts/\(id)").json["notes"] as? String == "prefers evenings")
            #expect(try await client.get("/v1/contacts?q=build").data.count == 1)
            #expect(try await client.get("/v1/contacts?q=%2B3725").data.count == 2)
            #expect(try await client.get("/v1/contacts?group=vip").data.count == 2)
            #expect(try await client.get("/v1/contacts?q=%25").data.isEmpty)

            let patched = try await client.patch("/v1/contacts/\(id)", json: ["name": "Robert"])
            #expect(patched.json["name"] as? String == "Robert")
            #expect(patched.json["notes"] as? String == "prefers evenings")
            let replaced = try await client.put("/v1/contacts/\(id)", json: ["number": "+37255533333"])
            #expect(replaced.json["name"] == nil || replaced.json["name"] is NSNull)
            #expect(try await client.patch("/v1/contacts/\(id)", json: ["number": "123"]).errorFields == ["number"])

            #expect(try await client.delete("/v1/contacts/\(id)").status == 204)
            #expect(try await client.get("/v1/contacts/\(id)").status == 404)

            var all: [String] = []
            var cursor: String?
            repeat {
                let page = try await client.get("/v1/contacts?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""))
                all += page.data.compactMap { $0["name"] as? String }
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil
            #expect(Set(all) == ["Berta", "Carl"])
        }
    }

    @Test func csvImportStoresGoodRowsAndReportsBadOnes() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let csv = #"""
                number,name,notes,groups
                +37255511111,"Doe, Jane","said ""hi""",vip;tallinn
                not-a-number,Bad Row,,
                +37255522222,John,,

                +37255533333,Too,Many,Columns,Here
                """#
            let response = try await client.post("/v1/contacts/import", raw: csv, contentType: "text/csv")
            #expect(response.status == 201)
            #expect(response.json["imported"] as? Int == 2)
            #expect(response.json["rejected"] as? Int == 2)
            let errors = try #require(response.json["errors"] as? [[String: Any]])
            #expect(errors.compactMap { $0["row"] as? Int } == [3, 6])
            #expect(response.text.contains("E.164"))
            let jane = try await client.get("/v1/contacts?q=Jane").data.first
            #expect(jane?["name"] as? String == "Doe, Jane")
            #expect(jane?["notes"] as? String == "said \"hi\"")
            #expect(jane?["groups"] as? [String] == ["vip", "tallinn"])

            let badHeader = try await client.post(
                "/v1/contacts/import", raw: "phone,name\n+37255511111,x", contentType: "text/csv")
            #expect(badHeader.status == 422)
            #expect(badHeader.errorFields == ["header"])
        }
    }
}
