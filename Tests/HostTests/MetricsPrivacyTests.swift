import Foundation
import Testing

/// Who may read which metrics: the public `/metrics` names no account; the series that do (metrics
/// add-ons emit per account) are the operator's, on `/v1/admin/metrics`, and leave with an erased
/// account. Against a real daemon with the bundled Monitoring add-on, which publishes its gauges on
/// an account's first request and every tenth after.
@Suite struct MetricsPrivacyTests {
    static let monitoring = "com.switchboard.monitoring"

    /// The gauge Monitoring publishes for `accountID`, as it appears in the Prometheus text.
    static func series(_ accountID: String) -> String {
        "switchboard_addon_metric_api_latency_p99_ms{addon=\"\(monitoring)\",account=\"\(accountID)\"}"
    }

    /// Signs up an account that enables Monitoring and sends one message; returns its id and email.
    static func monitoredAccount(_ daemon: TestDaemon) async throws -> (id: String, email: String, client: TestClient) {
        let email = "metrics-\(UUID().uuidString.prefix(8).lowercased())@example.com"
        let (accountID, client) = try await daemon.signUp(email: email)
        let grant = try await client.put("/v1/account/addons/monitoring", json: ["categories": ["usage"]])
        #expect(grant.status == 201)
        _ = try await client.send(to: "+37255598765")
        return (accountID, email, client)
    }

    /// True once Monitoring's gauge for `accountID` was published, wherever this daemon serves it
    /// (so the test also runs, and fails for the right reason, where it is still public).
    static func published(_ daemon: TestDaemon, _ accountID: String) async throws -> Bool {
        try await eventually {
            let everywhere = try await daemon.client.get("/metrics").text + daemon.admin.get("/v1/admin/metrics").text
            return everywhere.contains(series(accountID))
        }
    }

    @Test func publicMetricsNameNoAccountNumberOrEmail() async throws {
        try await withDaemon { daemon in
            let account = try await Self.monitoredAccount(daemon)
            #expect(try await Self.published(daemon, account.id))

            let metrics = try await daemon.client.get("/metrics")
            #expect(metrics.status == 200)
            #expect(!metrics.text.contains(account.id))
            #expect(!metrics.text.contains("account="))
            #expect(!metrics.text.contains("switchboard_addon_metric_"))
            #expect(!metrics.text.contains(account.email))
            #expect(!metrics.text.contains("+37255598765"))
            #expect(!metrics.text.contains("127.0.0.1"))
            // The per add-on figures stay public.
            #expect(metrics.text.contains("switchboard_addon_events_delivered_total{addon=\"\(Self.monitoring)\"}"))
            #expect(metrics.text.contains("switchboard_messages_accepted_total 1"))
        }
    }

    @Test func operatorMetricsNeedTheOperatorTokenAndShowEachAccount() async throws {
        try await withDaemon { daemon in
            let account = try await Self.monitoredAccount(daemon)
            #expect(try await Self.published(daemon, account.id))

            let anonymous = try await daemon.client.get("/v1/admin/metrics")
            #expect(anonymous.status == 401)
            #expect(!anonymous.text.contains(account.id))
            let wrongToken = try await daemon.client.with(bearer: "not-the-operator-token").get("/v1/admin/metrics")
            #expect(wrongToken.status == 401)
            // A customer's own key is not the operator token either.
            let customer = try await account.client.get("/v1/admin/metrics")
            #expect(customer.status == 401)

            let scraped = try await daemon.admin.get("/v1/admin/metrics")
            #expect(scraped.status == 200)
            #expect(scraped.contentType == "text/plain; version=0.0.4")
            #expect(scraped.text.contains(Self.series(account.id)))
            #expect(scraped.text.contains("# TYPE switchboard_addon_metric_api_error_rate gauge"))
        }
    }

    @Test func anErasedAccountsSeriesLeaveTheOperatorMetrics() async throws {
        try await withDaemon { daemon in
            let erased = try await Self.monitoredAccount(daemon)
            let kept = try await Self.monitoredAccount(daemon)
            #expect(try await Self.published(daemon, erased.id))
            #expect(try await Self.published(daemon, kept.id))

            let deleted = try await erased.client.delete("/v1/account")
            #expect(deleted.status == 200)
            let erasure = try #require(deleted.json["addon_erasure"] as? [String: Any])
            let requestID = try #require(erasure["id"] as? String)
            // Once Monitoring acknowledged the erasure and its queue is empty, nothing it was sent
            // about the account is still on its way that could publish the series again.
            let drained = "switchboard_addon_outbox_depth{addon=\"\(Self.monitoring)\"} 0"
            #expect(
                try await eventually {
                    let state = try await daemon.admin.get("/v1/admin/erasures/\(requestID)").json["state"] as? String
                    guard state == "done" else { return false }
                    return try await daemon.client.get("/metrics").text.contains(drained)
                })

            let scraped = try await daemon.admin.get("/v1/admin/metrics")
            #expect(scraped.status == 200)
            #expect(!scraped.text.contains(erased.id))
            #expect(scraped.text.contains(Self.series(kept.id)))
            #expect(!(try await daemon.client.get("/metrics").text.contains(erased.id)))
        }
    }
}
