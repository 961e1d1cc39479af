import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// Bad input of every kind gets a 4xx problem naming the field, never a crash or a 500.
@Suite struct ValidationTests {
    @Test func malformedJSONIsABadRequest() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let response = try await client.post("/v1/messages", raw: "{\"to\": \"+3725551\", ")
            #expect(response.status == 400)
            #expect(response.contentType == "application/problem+json")
            #expect(response.json["title"] as? String == "Malformed JSON")
        }
    }

    @Test func everyBadFieldIsNamedAtOnceWithAFix() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let response = try await client.post(
                "/v1/messages",
                json: ["to": "5551234", "from": 42, "body": "", "colour": "red", "status_callback": "ftp://x"])
            #expect(response.status == 422)
            #expect(Set(response.errorFields) == ["to", "from", "body", "colour", "status_callback"])
            #expect(response.text.contains("to: must be E.164, e.g. +37255512345"))
            #expect(response.text.contains("must be a string, not a number"))
            #expect(response.text.contains("is not a known field"))
        }
    }

    @Test func callbackEventsNameKnownStatusesAndNeedACallback() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let base: [String: Any] = ["to": "+37255512345", "from": "ACME", "body": "hi"]
            let cases: [([String: Any], String)] = [
                (
                    ["status_callback": "https://example.com/s", "status_callback_events": ["delivered", "read"]],
                    "'read' is not a status: each entry must be one of sent, delivered, undelivered or failed"
                ),
                (
                    ["status_callback": "https://example.com/s", "status_callback_events": []],
                    "must name at least one status"
                ),
                (["status_callback_events": ["delivered"]], "needs a status_callback URL"),
                (
                    [
                        "status_callback": "https://example.com/s",
                        "status_callback_events": ["delivered", "delivered"],
                    ],
                    "names 'delivered' 2 times; name each status once"
                ),
                (
                    ["status_callback": "https://example.com/s", "status_callback_events": "delivered"],
                    "must be an array of strings"
                ),
            ]
            for (fields, hint) in cases {
                let response = try await client.post("/v1/messages", json: base.merging(fields) { $1 })
                #expect(response.status == 422, "\(fields)")
                #expect(response.errorFields == ["status_callback_events"], "\(fields)")
                #expect(response.text.contains(hint), "\(response.text)")
            }
            // A bad URL is reported once, on its own field.
            let badURL = try await client.post(
                "/v1/messages",
                json: base.merging(["status_callback": "ftp://x", "status_callback_events": ["sent"]]) { $1 })
            #expect(badURL.errorFields == ["status_callback"])
        }
    }

    @Test func nonObjectBodiesAndWrongTypesAreRefused() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            for raw in ["[1,2]", "\"text\"", "null", "", "42"] {
                let response = try await client.post("/v1/messages", raw: raw)
                #expect((400..<500).contains(response.status), "\(raw) -> \(response.status)")
            }
            let wrongType = try await client.post("/v1/contacts", json: ["number": "+37255512345", "groups": "vip"])
            #expect(wrongType.errorFields == ["groups"])
        }
    }

    @Test func oversizedBodiesAreRefusedWith413() async throws {
        try await withDaemon(configure: { $0.maxBodyBytes = 2048 }) { daemon in
            let (_, client) = try await daemon.signUp()
            let big = String(repeating: "a", count: 4096)
            let response = try await client.post("/v1/messages", raw: "{\"body\": \"\(big)\"}")
            #expect(response.status == 413)
            #expect(response.text.contains("2048 bytes"))
            // The daemon goes on serving.
            #expect(try await client.get("/v1/account").status == 200)
        }
    }

    @Test func badQueryParametersAreNamed() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let response = try await client.get("/v1/messages?status=lost&limit=0")
            #expect(response.status == 422)
            // Every bad parameter is named, not only the first read.
            #expect(Set(response.errorFields) == ["limit", "status"])
            #expect(try await client.get("/v1/messages?cursor=%%%").status == 422)
            #expect(try await client.get("/v1/usage?from=yesterday").errorFields == ["from"])
        }
    }

    @Test func adminNeedsTheOperatorToken() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            #expect(try await client.get("/v1/admin/accounts").status == 401)
            #expect(
                try await daemon.client.with(bearer: "op_wrong-token-value").get("/v1/admin/accounts")
                    .status == 401)
            #expect(try await daemon.admin.get("/v1/admin/accounts").status == 200)
        }
    }

    @Test func healthzAndMetricsAnswer() async throws {
        try await TestDaemon.withRouter { daemon in
            let health = try await daemon.client.get("/healthz")
            #expect(health.status == 200)
            #expect(health.json["status"] as? String == "ok")
            let (_, client) = try await daemon.signUp()
            _ = try await client.send()
            let metrics = try await daemon.client.get("/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.text.contains("switchboard_messages_accepted_total 1"))
        }
    }

    /// Withdrawing an add-on that is not enabled is "Not enabled" whatever the query says; once it
    /// is enabled, a bad `erase` names the parameter.
    @Test func withdrawalAnswersNotEnabledBeforeReadingItsQuery() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let notEnabled = try await client.delete("/v1/account/addons/reporting?erase=maybe")
            #expect(notEnabled.status == 404)
            #expect(notEnabled.json["title"] as? String == "Not enabled")
            #expect(try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]]).status == 201)
            let badQuery = try await client.delete("/v1/account/addons/reporting?erase=maybe")
            #expect(badQuery.status == 422)
            #expect(badQuery.errorFields == ["erase"])
            #expect(try await client.delete("/v1/account/addons/reporting?erase=false").status == 200)
        }
    }

    /// The operator's audit answers 404 naming the known add-ons for an id nobody knows, instead
    /// of an empty list that reads as "nothing was shared".
    @Test func anAuditOfAnUnknownAddonNamesTheKnownOnes() async throws {
        try await TestDaemon.withRouter { daemon in
            let typo = try await daemon.admin.get("/v1/admin/audit?addon=reportnig")
            #expect(typo.status == 404)
            #expect(typo.errorFields == ["addon"])
            #expect(typo.text.contains("com.switchboard.reporting"))
            #expect(try await daemon.admin.get("/v1/admin/audit?addon=reporting").status == 200)
            #expect(try await daemon.admin.get("/v1/admin/audit?addon=com.switchboard.reporting").status == 200)
        }
    }
}
