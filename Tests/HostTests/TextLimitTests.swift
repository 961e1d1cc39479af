import Foundation
import SwitchboardCore
import Testing

/// Limits on customer text count Unicode code points, so that stacking marks or joined emoji on one
/// visible character cannot pass them; text of white space alone is blank wherever it is required;
/// a CSV row is stored as written or refused naming why.
@Suite struct TextLimitTests {
    @Test func aBodyCannotPassItsLimitOnMarksOrJoinedEmojiAndABlankOneIsRefused() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            func send(_ body: String) async throws -> TestClient.Response { try await client.send(body: body) }
            let marks = try await send("a" + String(repeating: "\u{301}", count: 1_600))
            #expect(marks.status == 422 && marks.errorFields == ["body"], "\(marks.text)")
            #expect(marks.text.contains("got 1601"), "\(marks.text)")
            // A family: four people and three zero-width joiners, 7 code points, one grapheme.
            let family = try await send(String(repeating: "👨‍👩‍👧‍👦", count: 1_600))
            #expect(family.status == 422 && family.errorFields == ["body"], "\(family.text)")
            for blank in ["\n", " \t\r\n ", "\u{A0}", "\u{2028}"] {
                let refused = try await send(blank)
                #expect(
                    refused.status == 422 && refused.errorFields == ["body"], "\(blank.unicodeScalars): \(refused.text)"
                )
                #expect(refused.text.contains("must not be blank"), "\(refused.text)")
            }
            // 1,600 code points, each its own character, is the limit itself.
            let longest = try await send(String(repeating: "é", count: 1_600))
            #expect(longest.status == 201, "\(longest.text)")
            #expect(try await client.get("/v1/messages").data.count == 1)
        }
    }

    @Test func aContactNameCountsCodePointsOnEveryPath() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let name = "a" + String(repeating: "\u{301}", count: 200)
            let json = try await client.post("/v1/contacts", json: ["number": "+37255511111", "name": name])
            #expect(json.status == 422 && json.errorFields == ["name"], "\(json.text)")
            let csv = try await client.post(
                "/v1/contacts/import", raw: "number,name\n+37255511112,\(name)\n", contentType: "text/csv")
            #expect(csv.json["imported"] as? Int == 0 && csv.json["rejected"] as? Int == 1, "\(csv.text)")
            #expect(try await client.get("/v1/contacts").data.isEmpty)
        }
    }

    /// What the CSV import stores is what the JSON API accepts, and a mark is never dropped: a row
    /// with more groups than a contact may have, a value opening with a blank and a mark that are one
    /// character, and a comma or quote joined with a mark are each refused naming why; the rows
    /// around them import.
    @Test func aCSVRowIsStoredAsWrittenOrRefusedNamingWhy() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let groups = (1...101).map { "g\($0)" }.joined(separator: ";")
            let csv = [
                "number,name,groups",
                "+37255511121,Before,a",
                "+37255511122,Many,\(groups)",
                "+37255511123, \u{301}acc,b",
                "+37255511124,\u{301}acc,c",
                "+37255511126,\"\u{301}q\",e",
                "+37255511125,After,d",
            ].joined(separator: "\n")
            let response = try await client.post("/v1/contacts/import", raw: csv, contentType: "text/csv")
            #expect(response.status == 201, "\(response.text)")
            #expect(
                response.json["imported"] as? Int == 2 && response.json["rejected"] as? Int == 4, "\(response.text)")
            let errors = try #require(response.json["errors"] as? [[String: Any]])
            let byRow = Dictionary(
                errors.map { ($0["row"] as? Int ?? 0, "\($0["errors"] ?? "")") }, uniquingKeysWith: { $1 })
            #expect(byRow[3]?.contains("at most 100 entries (got 101)") == true, "\(errors)")
            #expect(byRow[4]?.contains("a blank at character 14 joined with U+0301") == true, "\(errors)")
            #expect(byRow[5]?.contains("the comma at character 13 joined with U+0301") == true, "\(errors)")
            #expect(byRow[6]?.contains("the quote at character 14 joined with U+0301") == true, "\(errors)")
            let names = try await client.get("/v1/contacts").data.compactMap { $0["name"] as? String }
            #expect(Set(names) == ["Before", "After"])
        }
    }
}
