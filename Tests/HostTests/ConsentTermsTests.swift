import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// A grant is bound to the terms the customer saw. A newer manifest that would disclose more (a
/// clear value for a pseudonym, another purpose, another event, another company) carries nothing
/// new until the customer consents again, whether the new version arrives by hot reload or by a
/// restart; a narrower one applies at once. Each case runs with the recording add-on.
@Suite struct ConsentTermsTests {
    static let id = "com.example.recorder"
    static let purpose = "Needed by the test recorder"

    enum Across: String, CaseIterable, Sendable {
        case reload
        case restart
    }

    /// One manifest version of the recorder.
    struct Version {
        var version: String
        var fields: [(id: String, required: Bool, pseudonym: Bool)]
        var hooks = ["message.status"]
        var vendor: String?
        var purposes: [String: String] = [:]
    }

    static func write(_ version: Version, to directory: URL) async throws {
        try await AddonFixture.recorder(
            in: directory, id: id, version: version.version, fields: version.fields, hooks: version.hooks,
            timeoutMs: 2000)
        guard version.vendor != nil || !version.purposes.isEmpty else { return }
        let file = directory.appendingPathComponent("\(id).json")
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
        if let vendor = version.vendor { manifest["vendor"] = vendor }
        manifest["fields"] = (manifest["fields"] as! [[String: Any]]).map { field in
            var field = field
            if let purpose = version.purposes[field["id"] as! String] { field["purpose"] = purpose }
            return field
        }
        try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: file)
    }

    /// What the recorder received after the switch to `second`, and the daemon to look further.
    struct Outcome {
        var daemon: TestDaemon
        var client: TestClient
        var accountID: String
        /// Records made after the new version went into service.
        var after: [AddonFixture.Recorded]
        var entry: [String: Any]

        func recorded() -> [AddonFixture.Recorded] {
            AddonFixture.recorded(dataDir: daemon.directory, addonID: ConsentTermsTests.id)
        }
    }

    /// Grants `categories` under `first`, lets one message through, puts `second` into service
    /// (reload or restart), sends to `number` and waits for its status; then runs `check`.
    func afterUpdate(
        from first: Version, to second: Version, across: Across, number: String = "+37255599901",
        expectDelivery: Bool = true,
        delivered: @escaping (AddonFixture.Recorded) -> Bool = { $0.fields["usage.status"] == "text:delivered" },
        _ check: (Outcome) async throws -> Void
    ) async throws {
        let addons = FileManager.default.temporaryDirectory.appendingPathComponent("sb-terms-\(UUID().uuidString)")
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sb-terms-data-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: addons)
            try? FileManager.default.removeItem(at: dataDir)
        }
        try await Self.write(first, to: addons)
        var daemon = try await TestDaemon.start(directory: dataDir) { $0.addons.directories = [addons.path] }
        let (accountID, firstClient) = try await daemon.signUp()
        let granted = try await firstClient.put("/v1/account/addons/recorder", json: ["categories": ["usage"]])
        #expect(granted.status == 201, "\(granted.text)")
        _ = try await firstClient.send(to: "+37255599900", body: "before the update")
        #expect(try await eventually { AddonFixture.recorded(dataDir: dataDir, addonID: Self.id).count >= 1 })
        // Every delivered status of the first message has reached the add-on.
        _ = try await eventually { try await outboxCount(daemon) == 0 }

        try await Self.write(second, to: addons)
        switch across {
        case .reload:
            let reload = try await daemon.admin.post("/v1/admin/addons/\(Self.id)/reload", json: [:])
            #expect(reload.status == 200, "\(reload.text)")
        case .restart:
            await daemon.stop(removeData: false)
            daemon = try await TestDaemon.start(directory: dataDir) { $0.addons.directories = [addons.path] }
        }
        let client = TestClient(baseURL: daemon.baseURL, basic: firstClient.basic)
        let before = AddonFixture.recorded(dataDir: dataDir, addonID: Self.id).count
        let sent = try await client.send(to: number, body: "after the update")
        #expect(sent.status == 201, "\(sent.text)")
        let messageID = sent.json["id"] as? String ?? ""
        _ = try await eventually {
            try await client.get("/v1/messages/\(messageID)").json["status"] as? String == "delivered"
        }
        if expectDelivery {
            #expect(
                try await eventually {
                    AddonFixture.recorded(dataDir: dataDir, addonID: Self.id).dropFirst(before).contains(
                        where: delivered)
                })
            _ = try await eventually { try await outboxCount(daemon) == 0 }
        } else {
            _ = try await eventually { try await outboxCount(daemon) == 0 }
            try await Task.sleep(for: .milliseconds(300))
        }
        let entry = try await client.get("/v1/addons/recorder").json
        let outcome = Outcome(
            daemon: daemon, client: client, accountID: accountID,
            after: Array(AddonFixture.recorded(dataDir: dataDir, addonID: Self.id).dropFirst(before)), entry: entry)
        do {
            try await check(outcome)
        } catch {
            await daemon.stop(removeData: false)
            throw error
        }
        await daemon.stop(removeData: false)
    }

    static func changes(_ entry: [String: Any]) -> [[String: Any]] {
        entry["pending_changes"] as? [[String: Any]] ?? []
    }

    @Test(arguments: Across.allCases)
    func aPseudonymTurnedClearStaysAPseudonymUntilTheCustomerConsentsAgain(across: Across) async throws {
        try await afterUpdate(
            from: Version(version: "1.0.0", fields: [("usage.to", true, true), ("usage.status", false, false)]),
            to: Version(version: "2.0.0", fields: [("usage.to", true, false), ("usage.status", false, false)]),
            across: across
        ) { outcome in
            #expect(!outcome.after.isEmpty)
            for record in outcome.after {
                #expect(record.fields["usage.to"]?.hasPrefix("pseudonym:") == true, "\(record.fields)")
                #expect(record.fields["usage.to"]?.contains("+37255599901") != true)
            }
            #expect(outcome.entry["needs_reconsent"] as? Bool == true)
            let change = Self.changes(outcome.entry).first { $0["field"] as? String == "usage.to" }
            #expect(change?["kind"] as? String == "treatment")
            #expect(change?["from"] as? String == "pseudonym" && change?["to"] as? String == "clear")
            #expect(change?["applies"] as? String == "after_consent")
            #expect(change?["summary"] as? String == "usage.to: pseudonym → clear")
            let field = (outcome.entry["fields"] as? [[String: Any]])?.first { $0["id"] as? String == "usage.to" }
            #expect(field?["shared_as"] as? String == "pseudonym")

            // The ledger says what crossed: the pseudonym.
            let shares = try await outcome.daemon.admin.get("/v1/admin/audit?addon=\(Self.id)&limit=1000").data
            let last = shares.last?["fields"] as? [String: String]
            #expect(last?["usage.to"] == "pseudonym", "\(shares.last ?? [:])")

            // Consenting again to the new terms gives a receipt naming the version and the new treatment.
            let receipt = try await outcome.client.put(
                "/v1/account/addons/recorder", json: ["categories": ["usage"]])
            #expect(receipt.status == 201)
            #expect(receipt.json["addon_version"] as? String == "2.0.0")
            let field2 = (receipt.json["fields"] as? [[String: Any]])?.first { $0["id"] as? String == "usage.to" }
            #expect(field2?["treatment"] as? String == "clear")
            let reconsented = try await outcome.client.get("/v1/addons/recorder").json
            #expect(reconsented["needs_reconsent"] as? Bool == false)
            #expect(Self.changes(reconsented).isEmpty)

            let before = outcome.recorded().count
            _ = try await outcome.client.send(to: "+37255599902", body: "after consenting again")
            #expect(
                try await eventually {
                    outcome.recorded().dropFirst(before).contains { $0.fields["usage.to"] == "text:+37255599902" }
                })
        }
    }

    @Test(arguments: Across.allCases)
    func aFieldWhosePurposeChangedCarriesNothingUntilConsent(across: Across) async throws {
        try await afterUpdate(
            from: Version(version: "1.0.0", fields: [("usage.to", true, false), ("usage.status", false, false)]),
            to: Version(
                version: "2.0.0", fields: [("usage.to", true, false), ("usage.status", false, false)],
                purposes: ["usage.to": "Sell the numbers to advertisers"]),
            across: across
        ) { outcome in
            #expect(!outcome.after.isEmpty)
            #expect(outcome.after.allSatisfy { $0.fields["usage.to"] == nil }, "\(outcome.after)")
            #expect(outcome.entry["needs_reconsent"] as? Bool == true)
            let change = Self.changes(outcome.entry).first { $0["kind"] as? String == "purpose" }
            #expect(change?["field"] as? String == "usage.to")
            #expect(change?["from"] as? String == Self.purpose)
            #expect(change?["to"] as? String == "Sell the numbers to advertisers")
        }
    }

    @Test(arguments: Across.allCases)
    func aNewHookCarriesNothingUntilConsent(across: Across) async throws {
        try await afterUpdate(
            from: Version(version: "1.0.0", fields: [("usage.to", true, false), ("usage.status", false, false)]),
            to: Version(
                version: "2.0.0", fields: [("usage.to", true, false), ("usage.status", false, false)],
                hooks: ["message.status", "message.submit"]),
            across: across
        ) { outcome in
            #expect(!outcome.after.contains { $0.what == "check" }, "\(outcome.after)")
            #expect(!outcome.after.contains { $0.type == "message.submit" })
            #expect(outcome.entry["needs_reconsent"] as? Bool == true)
            let change = Self.changes(outcome.entry).first { $0["kind"] as? String == "hook_added" }
            #expect(change?["field"] as? String == "message.submit")
        }
    }

    @Test(arguments: Across.allCases)
    func anotherVendorReceivesNothingUntilConsent(across: Across) async throws {
        try await afterUpdate(
            from: Version(version: "1.0.0", fields: [("usage.to", true, false), ("usage.status", false, false)]),
            to: Version(
                version: "2.0.0", fields: [("usage.to", true, false), ("usage.status", false, false)],
                vendor: "Data Brokers Inc"),
            across: across, expectDelivery: false
        ) { outcome in
            #expect(outcome.after.isEmpty, "\(outcome.after)")
            #expect(outcome.entry["needs_reconsent"] as? Bool == true)
            let change = Self.changes(outcome.entry).first { $0["kind"] as? String == "vendor" }
            #expect(change?["to"] as? String == "Data Brokers Inc")
        }
    }

    @Test(arguments: Across.allCases)
    func aNarrowingAppliesAtOnceWithoutAskingAgain(across: Across) async throws {
        try await afterUpdate(
            from: Version(version: "1.0.0", fields: [("usage.to", true, false), ("usage.status", false, false)]),
            to: Version(version: "2.0.0", fields: [("usage.to", true, true)]),
            across: across, delivered: { $0.type == "message.status" }
        ) { outcome in
            #expect(!outcome.after.isEmpty)
            for record in outcome.after {
                #expect(record.fields["usage.to"]?.hasPrefix("pseudonym:") == true)
                #expect(record.fields["usage.status"] == nil)
            }
            #expect(outcome.entry["needs_reconsent"] as? Bool == false)
            let applied = Self.changes(outcome.entry).filter { $0["applies"] as? String == "now" }
            #expect(Set(applied.compactMap { $0["kind"] as? String }) == ["treatment", "field_removed"])
        }
    }

    @Test func aVersionThatChangesNoTermsNeedsNoNewConsent() async throws {
        try await afterUpdate(
            from: Version(version: "1.0.0", fields: [("usage.to", true, false), ("usage.status", false, false)]),
            to: Version(version: "1.0.1", fields: [("usage.to", true, false), ("usage.status", false, false)]),
            across: .reload
        ) { outcome in
            #expect(outcome.after.contains { $0.fields["usage.to"] == "text:+37255599901" })
            #expect(outcome.entry["needs_reconsent"] as? Bool == false)
            #expect(outcome.entry["consent_version"] as? String == "1.0.0")
            #expect(Self.changes(outcome.entry).isEmpty)
        }
    }
}
