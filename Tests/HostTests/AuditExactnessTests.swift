import Foundation
import Testing

/// The audit answers what was shared, exactly, however the ledger batches its rows: after one
/// scripted workload (two accounts with different grants, two waves of sends), every audit query
/// is compared with what the add-on itself recorded receiving, event by event.
@Suite struct AuditExactnessTests {
    static let addon = "com.example.recorder"

    @Test func everyAuditAnswerMatchesWhatTheAddonReceived() async throws {
        let addons = try await AddonFixture.recorder(
            in: AddonPlatformTests.addonsDirectory(),
            fields: [("usage.to", true, true), ("usage.status", true, false), ("content.body", false, false)],
            hooks: ["message.submit", "message.status"])
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (alice, aliceClient) = try await daemon.signUp()
            let (bob, bobClient) = try await daemon.signUp()
            #expect(
                try await aliceClient.put(
                    "/v1/account/addons/\(Self.addon)", json: ["fields": ["usage.to", "usage.status"]]
                ).status == 201)
            #expect(
                try await bobClient.put(
                    "/v1/account/addons/\(Self.addon)", json: ["categories": ["usage", "content"]]
                ).status == 201)

            // Each message makes three shares: its pre-send check, `sent` and `delivered`.
            func wave(_ count: Int) async throws -> Int {
                for index in 0..<count {
                    _ = try await aliceClient.send(body: "alice \(index)")
                    _ = try await bobClient.send(body: "bob \(index)")
                }
                return count * 2 * 3
            }
            func received() -> [AddonFixture.Recorded] {
                AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.addon)
                    .filter { $0.what == "event" || $0.what == "check" }
            }
            func audit(_ query: String) async throws -> [[String: Any]] {
                let answer = try await daemon.admin.get("/v1/admin/audit?addon=recorder&limit=10000\(query)")
                #expect(answer.status == 200, "\(query): \(answer.text)")
                return answer.data
            }
            func ids(_ rows: [[String: Any]]) -> Set<String> { Set(rows.compactMap { $0["event_id"] as? String }) }

            let first = try await wave(8)
            #expect(try await eventually(seconds: 30) { received().count == first })
            #expect(try await eventually(seconds: 30) { try await audit("").count == first })
            // Every share of the first wave is in the ledger before this instant.
            try await Task.sleep(for: .milliseconds(20))
            let between = Date()
            try await Task.sleep(for: .milliseconds(20))
            let before = received()
            let second = try await wave(3)
            #expect(try await eventually(seconds: 30) { received().count == first + second })
            #expect(try await eventually(seconds: 30) { try await audit("").count == first + second })

            let seen = received()
            #expect(Set(seen.map(\.eventID)).count == seen.count, "each event received once")
            func expected(_ filter: (AddonFixture.Recorded) -> Bool) -> Set<String> {
                Set(seen.filter(filter).map(\.eventID))
            }
            let all = try await audit("")
            #expect(ids(all) == expected { _ in true })
            // Each entry says what the add-on received: the same account, type and fields.
            for row in all {
                let event = try #require(seen.first { $0.eventID == row["event_id"] as? String })
                #expect(row["account_id"] as? String == event.accountID)
                #expect(row["event_type"] as? String == event.type)
                let fields = try #require(row["fields"] as? [String: String])
                #expect(Set(fields.keys) == Set(event.fields.keys), "\(row)")
                #expect(fields["usage.to"] == "pseudonym", "\(row)")
            }
            #expect(ids(try await audit("&account=\(alice)")) == expected { $0.accountID == alice })
            #expect(ids(try await audit("&account=\(bob)")) == expected { $0.accountID == bob })
            let withBody = expected { $0.fields["content.body"] != nil }
            #expect(!withBody.isEmpty)
            #expect(ids(try await audit("&field=content.body")) == withBody)
            #expect(ids(try await audit("&category=content")) == withBody)
            #expect(ids(try await audit("&field=usage.status")) == expected { $0.fields["usage.status"] != nil })
            #expect(ids(try await audit("&account=\(alice)&category=content")).isEmpty)
            let instant = Self.rfc3339(between)
            let earlier = Set(before.map(\.eventID))
            #expect(ids(try await audit("&until=\(instant)")) == earlier)
            #expect(ids(try await audit("&since=\(instant)")) == expected { !earlier.contains($0.eventID) })

            // The same answers in the other formats and to the customer.
            let csv = try await daemon.admin.get("/v1/admin/audit?addon=recorder&limit=10000&format=csv").text
            // RFC 4180 records end with CRLF.
            #expect(csv.split(whereSeparator: \.isNewline).count == seen.count + 1, "\(csv.prefix(600))")
            let ndjson = try await daemon.admin.get("/v1/admin/audit?addon=recorder&limit=10000&format=ndjson").text
            #expect(ndjson.split(separator: "\n").count == seen.count)
            // Followed page by page through its Link header (RFC 8288), the CSV download holds the
            // same rows: more than one page's limit is within reach.
            var link: String? = "/v1/admin/audit?addon=recorder&limit=2&format=csv"
            var (paged, pages) = (0, 0)
            while let next = link, pages < 1000 {
                let page = try await daemon.admin.get(next)
                paged += max(0, page.text.split(whereSeparator: \.isNewline).count - 1)
                pages += 1
                link = page.headers.first(name: "Link").flatMap { value in
                    value.hasSuffix(#"; rel="next""#)
                        ? value.split(separator: ">").first.map { String($0.dropFirst()) } : nil
                }
            }
            #expect(paged == seen.count && pages > 1, "\(paged) rows in \(pages) pages")
            let shares = try await aliceClient.get("/v1/account/addons/recorder/shares?limit=1000")
            #expect(ids(shares.data) == expected { $0.accountID == alice })
            // Counts per category (summed over days, should the run cross midnight UTC).
            let summary = try await daemon.admin.get("/v1/admin/audit?addon=recorder&summary=true")
            let counts = try #require(try JSONSerialization.jsonObject(with: summary.body) as? [[String: Any]])
            func total(_ category: String) -> Int {
                counts.filter { $0["category"] as? String == category }.compactMap { $0["shares"] as? Int }.reduce(0, +)
            }
            #expect(total("usage") == seen.count, "\(summary.text)")
            #expect(total("content") == withBody.count, "\(summary.text)")
        }
    }

    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
