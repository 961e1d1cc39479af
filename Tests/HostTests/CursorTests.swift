import Foundation
import Testing

/// A cursor the server never gave is refused naming `cursor`, never read as the end of the list.
@Suite struct CursorTests {
    @Test func aMadeUpOrDamagedCursorIsRefusedAndARealOneReadsTheNextPage() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            for number in ["+37255511101", "+37255511102", "+37255511103"] {
                #expect(try await client.post("/v1/contacts", json: ["number": number]).status == 201)
            }
            // Not base64url, not UTF-8 once decoded, not a contact id, a negative or zero position.
            for path in [
                "/v1/contacts?cursor=abc", "/v1/contacts?cursor=zzzz", "/v1/contacts?cursor=____",
                "/v1/contacts?cursor=YWNjX3g", "/v1/messages?cursor=LTE", "/v1/messages?cursor=MA",
                "/v1/messages?cursor=garbage", "/v1/usage/requests?cursor=LTE",
            ] {
                let refused = try await client.get(path)
                #expect(refused.status == 422 && refused.errorFields == ["cursor"], "\(path): \(refused.text)")
                #expect(refused.text.contains("must be a next_cursor value"), "\(path): \(refused.text)")
            }
            let first = try await client.get("/v1/contacts?limit=2")
            let cursor = try #require(first.json["next_cursor"] as? String)
            let second = try await client.get("/v1/contacts?limit=2&cursor=\(cursor)")
            #expect(second.status == 200 && second.data.count == 1, "\(second.text)")
            #expect(Set((first.data + second.data).compactMap { $0["number"] as? String }).count == 3)
        }
    }
}
