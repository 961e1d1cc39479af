import Foundation
import SwitchboardCore
import Testing

/// Each rendered console form is acted on once: sent again from the same page (a double click, the
/// back button, a second tab) it is refused `409 Form already sent` and nothing is done twice; a
/// form whose action failed can be corrected and sent from the same page; a field given twice is
/// refused as the API refuses it.
@Suite struct ConsoleFormOnceTests {
    @Test func aFormSentTwiceIsActedOnOnce() async throws {
        let clock = ManualWallClock()
        try await withDaemon(clock: clock) { daemon in
            let email = "once@example.com"
            let (_, client) = try await daemon.signUp(email: email)
            var (visitor, _) = try await ConsoleCoverageTests.consoleSession(daemon, clock: clock, email: email)

            // Rotating the webhook secret twice from one page would end the overlap of the secret
            // a receiver still uses: the second sending is refused and the first rotation stands.
            let original = try #require(try await client.get("/v1/account").json["webhook_signing_secret"] as? String)
            let settings = try await visitor.get("/console/settings")
            let token = try #require(ConsoleVisitor.csrf(in: settings.text))
            let first = try await visitor.post("/console/settings/webhook-secret", [("csrf", token)])
            #expect(first.status == 303, "\(first.text)")
            let rotated = try #require(try await client.get("/v1/account").json["webhook_signing_secret"] as? String)
            #expect(rotated != original)
            let again = try await visitor.post("/console/settings/webhook-secret", [("csrf", token)])
            #expect(again.status == 409, "\(again.text)")
            #expect(again.text.contains("Form already sent"), "\(again.text)")
            #expect(try await client.get("/v1/account").json["webhook_signing_secret"] as? String == rotated)
            #expect(try await client.get("/v1/account/webhook-secret").json["previous_secret_expires_at"] is String)

            // A double click on "Create key": two sendings at once, one key.
            let keysBefore = try await client.get("/v1/account/keys").data.count
            let keysPage = try await visitor.get("/console/keys")
            let keyToken = try #require(ConsoleVisitor.csrf(in: keysPage.text))
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<2 {
                    let sender = visitor
                    group.addTask {
                        var sender = sender
                        return Int(
                            try await sender.post("/console/keys", [("csrf", keyToken), ("name", "twice")]).status)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.sorted() == [303, 409], "\(statuses)")
            #expect(try await client.get("/v1/account/keys").data.count == keysBefore + 1)

            // A refused form is not spent: corrected, it goes through from the same page.
            let privacy = try await visitor.get("/console/settings")
            let privacyToken = try #require(ConsoleVisitor.csrf(in: privacy.text))
            let wrong = try await visitor.post(
                "/console/settings/privacy", [("csrf", privacyToken), ("content_mode", "shred")])
            #expect(wrong.status == 422, "\(wrong.text)")
            let right = try await visitor.post(
                "/console/settings/privacy", [("csrf", privacyToken), ("content_mode", "hash")])
            #expect(right.status == 303, "\(right.text)")
            #expect(try await client.get("/v1/account").json["content_mode"] as? String == "hash")

            // A field given twice is named, not read as its first value.
            let named = try await visitor.get("/console/keys")
            let doubled = try await visitor.post(
                "/console/keys",
                [("csrf", try #require(ConsoleVisitor.csrf(in: named.text))), ("name", "a"), ("name", "b")])
            #expect(doubled.status == 422, "\(doubled.text)")
            #expect(doubled.text.contains("name: is given 2 times; give it once"), "\(doubled.text)")
            #expect(try await client.get("/v1/account/keys").data.count == keysBefore + 1)
        }
    }
}
