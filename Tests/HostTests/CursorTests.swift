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

    /// A cursor that decodes to a number is a position only if it names a row of the caller's own
    /// list: another account's cursor, or a number made up, is refused rather than read.
    @Test func aNumberThatNamesNoRowOfTheCallersListIsRefused() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, alice) = try await daemon.signUp()
            let (_, bob) = try await daemon.signUp()
            for index in 0..<3 {
                let sent = try await alice.send(to: "+3725551110\(index)", body: "hi \(index)")
                #expect(sent.status == 201, "\(sent.text)")
            }
            for path in ["/v1/messages?limit=1", "/v1/usage/requests?limit=1"] {
                let first = try await alice.get(path)
                let cursor = try #require(first.json["next_cursor"] as? String, "\(path): \(first.text)")
                let next = try await alice.get(path + "&cursor=" + cursor)
                #expect(next.status == 200 && next.data.count == 1, "\(path): \(next.text)")
                let foreign = try await bob.get(path + "&cursor=" + cursor)
                #expect(foreign.status == 422 && foreign.errorFields == ["cursor"], "\(path): \(foreign.text)")
                let madeUp = try await alice.get(path + "&cursor=OTk5OTk")
                #expect(madeUp.status == 422 && madeUp.errorFields == ["cursor"], "\(path): \(madeUp.text)")
            }
        }
    }
}
