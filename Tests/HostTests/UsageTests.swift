import Foundation
import GRDB
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

@Suite struct UsageTests {
    @Test func everyRequestIsLoggedWithItsDetails() async throws {
        try await withDaemon { daemon in
            let (accountID, client) = try await daemon.signUp()
            _ = try await client.get("/v1/account")
            _ = try await client.get("/v1/messages/msg_missing")
            #expect(
                try await eventually {
                    try await daemon.daemon.usage.requests(accountID: accountID, beforeID: nil, limit: 10).count >= 3
                })
            let page = try await client.get("/v1/usage/requests")
            let missing = try #require(page.data.first { $0["path"] as? String == "/v1/messages/msg_missing" })
            #expect(missing["status"] as? Int == 404)
            #expect(missing["method"] as? String == "GET")
            #expect(missing["ip"] as? String == "127.0.0.1")
            #expect(missing["latency_ms"] is Double)
            #expect(missing["at"] is String)
            // Sign-up is logged against the new account too.
            #expect(page.data.contains { $0["path"] as? String == "/v1/accounts" && $0["status"] as? Int == 201 })
        }
    }

    @Test func dailyUsageCountsMessagesAndSegmentsByStatus() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.send(body: "one")
            _ = try await client.send(body: String(repeating: "x", count: 200))
            #expect(
                try await eventually {
                    try await client.get("/v1/messages").data.allSatisfy { $0["status"] as? String == "delivered" }
                })
            let usage = try await client.get("/v1/usage")
            #expect(usage.status == 200)
            let days = try #require(usage.json["days"] as? [[String: Any]])
            #expect(days.count == 1)
            #expect((days[0]["messages"] as? [String: Int])?["delivered"] == 2)
            #expect((days[0]["segments"] as? [String: Int])?["delivered"] == 3)
            let empty = try await client.get("/v1/usage?from=2020-01-01&to=2020-01-31")
            #expect((empty.json["days"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func activityOlderThanTheRetentionPeriodIsPurged() async throws {
        let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
        try await withDaemon(clock: clock, configure: { $0.retentionDays = 30 }) { daemon in
            let (accountID, client) = try await daemon.signUp()
            _ = try await client.get("/v1/account")
            #expect(
                try await eventually {
                    try await daemon.daemon.usage.requests(accountID: accountID, beforeID: nil, limit: 10).count >= 2
                })
            clock.advance(by: 29 * 86_400)
            _ = try await client.get("/v1/account")
            #expect(
                try await eventually {
                    try await daemon.daemon.usage.requests(accountID: accountID, beforeID: nil, limit: 10).count >= 3
                })
            clock.advance(by: 2 * 86_400)
            let run = try await daemon.admin.post("/v1/admin/retention/run", json: [:])
            #expect(run.status == 200)
            #expect(run.json["purged_rows"] as? Int ?? 0 >= 2)
            let left = try await daemon.daemon.usage.requests(accountID: accountID, beforeID: nil, limit: 10)
            // Only the request made 2 days ago remains.
            #expect(left.count == 1)
            #expect(left.first?.at == clock.now().addingTimeInterval(-2 * 86_400).epochMillis)
        }
    }
}
