import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

@Suite struct ErasureTests {
    @Test func deletingAnAccountReachesEveryAddonThatReceivedItsData() async throws {
        try await withDaemon(configure: { $0.addons.config["com.switchboard.monitoring"] = ["min_requests": "1"] }) {
            daemon in
            let (accountID, client) = try await daemon.signUp()
            for addon in ["reporting", "monitoring", "compliance-scrub"] {
                #expect(
                    try await client.put("/v1/account/addons/\(addon)", json: ["categories": ["usage"]]).status == 201)
            }
            _ = try await client.post("/v1/account/numbers", json: ["number": "+37255500000"])
            _ = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "STOP"])
            _ = try await client.send(to: "+37255599999")
            let state = daemon.directory.appendingPathComponent("addons")
            #expect(
                try await eventually {
                    let report = reportingState(state)
                    let scrub =
                        (try? String(
                            contentsOf: state.appendingPathComponent(
                                "com.switchboard.compliance-scrub/suppression.tsv"), encoding: .utf8)) ?? ""
                    return report.contains(accountID) && scrub.contains(accountID)
                })
            #expect(
                try await eventually {
                    try await daemon.daemon.ledgerEntries(Ledger.Query()).contains {
                        $0.addonID == "com.switchboard.monitoring"
                    }
                })

            let deleted = try await client.delete("/v1/account")
            #expect(deleted.status == 200)
            let erasure = try #require(deleted.json["addon_erasure"] as? [String: Any])
            let id = try #require(erasure["id"] as? String)
            let addons = Set((erasure["addons"] as? [[String: Any]] ?? []).compactMap { $0["addon_id"] as? String })
            #expect(
                addons == [
                    "com.switchboard.reporting", "com.switchboard.monitoring", "com.switchboard.compliance-scrub",
                ])

            #expect(
                try await eventually {
                    try await daemon.admin.get("/v1/admin/erasures/\(id)").json["state"] as? String == "done"
                })
            let report = reportingState(state)
            let scrub =
                (try? String(
                    contentsOf: state.appendingPathComponent("com.switchboard.compliance-scrub/suppression.tsv"),
                    encoding: .utf8)) ?? ""
            #expect(!report.contains(accountID))
            #expect(!scrub.contains(accountID))
            // Each acknowledgement is an erasure receipt in the ledger.
            let receipts = try await daemon.daemon.ledgerEntries(Ledger.Query()).filter {
                $0.eventType == "erasure" && $0.eventID == id
            }
            #expect(Set(receipts.map(\.addonID)) == addons)
            #expect(try await daemon.daemon.verifyLedger().failure == nil)
        }
    }

    @Test func anErasurePendingWhileTheAddonIsDownCompletesAfterARestart() async throws {
        let addons = try await AddonFixture.recorder(
            in: FileManager.default.temporaryDirectory.appendingPathComponent("sb-erase-\(UUID().uuidString)"),
            fields: [("usage.to", true, false)], hooks: ["message.status"])
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sb-erase-data-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let configure: (inout ServeConfiguration) -> Void = { $0.addons.directories = [addons.path] }
        let first = try await TestDaemon.start(directory: dataDir, configure: configure)
        let (accountID, client) = try await first.signUp()
        _ = try await client.put("/v1/account/addons/recorder", json: ["fields": ["usage.to"]])
        let contact = try #require(
            try await client.post("/v1/contacts", json: ["number": "+37255512345"]).json["id"] as? String)
        _ = try await client.send(to: "+37255512345")
        #expect(
            try await eventually { AddonFixture.recorded(dataDir: dataDir, addonID: "com.example.recorder").count >= 2 }
        )
        let refuse = dataDir.appendingPathComponent("addons/com.example.recorder/refuse")
        _ = FileManager.default.createFile(atPath: refuse.path, contents: Data())

        #expect(try await client.delete("/v1/contacts/\(contact)").status == 204)
        let number = try await client.post("/v1/account/erasures", json: ["number": "+37255512345"])
        #expect(number.status == 202)
        let id = try #require(number.json["id"] as? String)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await client.get("/v1/account/erasures/\(id)").json["state"] as? String == "pending")
        await first.stop(removeData: false)

        try FileManager.default.removeItem(at: refuse)
        let second = try await TestDaemon.start(directory: dataDir, configure: configure)
        let again = TestClient(baseURL: second.baseURL, basic: client.basic)
        #expect(
            try await eventually {
                try await again.get("/v1/account/erasures/\(id)").json["state"] as? String == "done"
            })
        let erased = AddonFixture.recorded(dataDir: dataDir, addonID: "com.example.recorder").filter {
            $0.what == "erase"
        }
        // Kind 2 is SB_SUBJECT_NUMBER, kind 3 SB_SUBJECT_CONTACT; both carry the number.
        #expect(erased.map(\.eventID).sorted() == ["2", "3"])
        #expect(erased.allSatisfy { $0.type == accountID && $0.accountID == "+37255512345" })
        await second.stop(removeData: false)
    }

    @Test func theTransparencyEndpointMatchesWhatTheAddonReceived() async throws {
        let addons = try await AddonFixture.recorder(
            in: FileManager.default.temporaryDirectory.appendingPathComponent("sb-transparency-\(UUID().uuidString)"),
            fields: [("usage.to", true, true), ("usage.status", false, false)], hooks: ["message.status"])
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (_, client) = try await daemon.signUp()
            let receipt = try await client.put(
                "/v1/account/addons/recorder", json: ["fields": ["usage.to", "usage.status"]])
            let receiptID = try #require(receipt.json["receipt_id"] as? String)
            for _ in 0..<3 { _ = try await client.send() }
            #expect(
                try await eventually {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder").count == 6
                })
            let seen = AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder")
            let shares = try await client.get("/v1/account/shares")
            let entry = try #require(
                (shares.json["addons"] as? [[String: Any]])?.first {
                    $0["addon_id"] as? String == "com.example.recorder"
                })
            #expect(entry["shares"] as? Int == seen.count)
            let fields = try #require(entry["fields"] as? [String: Int])
            #expect(fields["usage.to:pseudonym"] == seen.filter { $0.fields["usage.to"] != nil }.count)
            #expect(fields["usage.status:clear"] == seen.filter { $0.fields["usage.status"] != nil }.count)
            #expect(entry["consent_receipt_ids"] as? [String] == [receiptID])
            let stored = try await client.get("/v1/account/consents/\(receiptID)")
            #expect(stored.json["principal"] as? String != nil)
            #expect(stored.json["third_party"] as? String == "Example Vendor")

            // Withdrawing with erase=true also asks the add-on to delete what it holds.
            let withdrawn = try await client.request(.DELETE, "/v1/account/addons/recorder?erase=true")
            #expect(withdrawn.json["action"] as? String == "withdraw")
            let erasure = try #require(withdrawn.json["erasure"] as? [String: Any])
            #expect((erasure["addons"] as? [[String: Any]])?.first?["addon_id"] as? String == "com.example.recorder")
            #expect(
                try await eventually {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder").contains {
                        $0.what == "erase"
                    }
                })
        }
    }
}

/// Everything Reporting keeps on disk: its snapshot and its journal.
func reportingState(_ addons: URL) -> String {
    ["reporting.json", "reporting.journal"].map {
        (try? String(
            contentsOf: addons.appendingPathComponent("com.switchboard.reporting/\($0)"), encoding: .utf8)) ?? ""
    }.joined()
}
