import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

@Suite struct MessageTests {
    @Test func aSentMessageIsQueuedThenDelivered() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            let sent = try await client.send(body: "Hello from Switchboard")
            #expect(sent.status == 201)
            #expect(sent.json["status"] as? String == "queued")
            #expect(sent.json["segments"] as? Int == 1)
            #expect(sent.json["encoding"] as? String == "GSM-7")
            let id = try #require(sent.json["id"] as? String)
            #expect(sent.headers.first(name: "Location") == "/v1/messages/\(id)")
            #expect(
                try await eventually {
                    try await client.get("/v1/messages/\(id)").json["status"] as? String == "delivered"
                })
            let final = try await client.get("/v1/messages/\(id)").json
            #expect(final["sent_at"] is String)
            #expect(final["completed_at"] is String)
            #expect(final["body"] as? String == "Hello from Switchboard")
        }
    }

    @Test func failuresCarryErrorCodes() async throws {
        try await withDaemon(configure: { $0.simulator.failureRate = 1 }) { daemon in
            let (_, client) = try await daemon.signUp()
            var ids: [String] = []
            for index in 0..<20 {
                ids.append(try #require(try await client.send(body: "m\(index)").json["id"] as? String))
            }
            #expect(
                try await eventually {
                    try await client.get("/v1/messages?limit=100").data.allSatisfy {
                        ["failed", "undelivered"].contains($0["status"] as? String)
                    }
                })
            let messages = try await client.get("/v1/messages?limit=100").data
            let statuses = Set(messages.compactMap { $0["status"] as? String })
            #expect(statuses == ["failed", "undelivered"])
            for message in messages {
                let code = message["error_code"] as? Int
                #expect(code == 30008 || code == 30003)
                #expect(message["error_message"] is String)
            }
        }
    }

    @Test func theSimulatorIsDeterministicUnderASeed() async throws {
        var settings = SimulatorSettings()
        settings.failureRate = 0.5
        settings.seed = 7
        let first = SimulatedCarrier(settings: settings)
        let second = SimulatedCarrier(settings: settings)
        settings.seed = 8
        let other = SimulatedCarrier(settings: settings)
        let ids = (0..<50).map { "msg_\($0)" }
        #expect(ids.map(first.draw) == ids.map(second.draw))
        #expect(ids.map(first.draw) != ids.map(other.draw))
    }

    @Test func listingFiltersAndPaginates() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            for index in 0..<7 {
                _ = try await client.send(
                    to: index.isMultiple(of: 2) ? "+37255500001" : "+37255500002", body: "n\(index)")
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await client.get("/v1/messages?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(page.status == 200)
                seen += page.data.compactMap { $0["body"] as? String }
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == (0..<7).reversed().map { "n\($0)" })
            let filtered = try await client.get("/v1/messages?to=%2B37255500001&direction=outbound")
            #expect(filtered.data.count == 4)
            let none = try await client.get("/v1/messages?direction=inbound")
            #expect(none.data.isEmpty)
        }
    }

    @Test func alphanumericSendersAndUnicodeBodies() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            let unicode = try await client.send(from: "Switchboard", body: "Tere, tänan! 👋")
            #expect(unicode.status == 201)
            #expect(unicode.json["encoding"] as? String == "UCS-2")
            let long = try await client.send(body: String(repeating: "a", count: 161))
            #expect(long.json["segments"] as? Int == 2)
            let badSender = try await client.send(from: "This sender id is far too long")
            #expect(badSender.errorFields == ["from"])
            let tooLong = try await client.send(body: String(repeating: "a", count: 1601))
            #expect(tooLong.errorFields == ["body"])
        }
    }

    @Test func theSendRateLimitAnswers429WithRetryAfter() async throws {
        try await withDaemon(configure: {
            $0.rateLimits.sendPerSecond = 0.001
            $0.rateLimits.sendBurst = 3
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            for _ in 0..<3 { #expect(try await client.send().status == 201) }
            let limited = try await client.send()
            #expect(limited.status == 429)
            // One token per 1,000 s: the caller is told to come back when the next one is due (the
            // first three sends may take a while on a loaded machine, and count against it).
            #expect(Int(limited.headers.first(name: "Retry-After") ?? "") ?? 0 > 900)
            // Another account has its own bucket.
            let (_, other) = try await daemon.signUp()
            #expect(try await other.send().status == 201)
        }
    }
}

@Suite struct SegmentTests {
    @Test func gsm7Counting() {
        #expect(SegmentCount(body: "").segments == 1)
        #expect(
            SegmentCount(body: String(repeating: "a", count: 160))
                == SegmentCount(encoding: .gsm7, segments: 1, units: 160))
        #expect(SegmentCount(body: String(repeating: "a", count: 161)).segments == 2)
        #expect(SegmentCount(body: String(repeating: "a", count: 306)).segments == 2)
        #expect(SegmentCount(body: String(repeating: "a", count: 307)).segments == 3)
        // Extension characters take two septets.
        #expect(
            SegmentCount(body: String(repeating: "€", count: 80))
                == SegmentCount(encoding: .gsm7, segments: 1, units: 160))
        #expect(SegmentCount(body: String(repeating: "€", count: 81)).segments == 2)
    }

    @Test func ucs2Counting() {
        #expect(
            SegmentCount(body: String(repeating: "ж", count: 70))
                == SegmentCount(encoding: .ucs2, segments: 1, units: 70))
        #expect(SegmentCount(body: String(repeating: "ж", count: 71)).segments == 2)
        #expect(SegmentCount(body: String(repeating: "ж", count: 134)).segments == 2)
        #expect(SegmentCount(body: String(repeating: "ж", count: 135)).segments == 3)
        // An emoji is a surrogate pair: two UTF-16 units that are never split across segments.
        #expect(SegmentCount(body: String(repeating: "😀", count: 35)).units == 70)
        #expect(SegmentCount(body: "ab" + String(repeating: "😀", count: 66)).segments == 3)
    }

    @Test func numberRules() {
        #expect(PhoneNumber.isE164("+37255512345"))
        #expect(!PhoneNumber.isE164("37255512345"))
        #expect(!PhoneNumber.isE164("+0123"))
        #expect(!PhoneNumber.isE164("+1234567890123456"))
        #expect(PhoneNumber.isAlphanumericSender("ACME 24"))
        #expect(!PhoneNumber.isAlphanumericSender("12345"))
        #expect(!PhoneNumber.isAlphanumericSender("Ünicode"))
    }
}
