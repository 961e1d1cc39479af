import Foundation
import GRDB
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

@Suite struct AddonPlatformTests {
    static func addonsDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sb-addons-\(UUID().uuidString)")
    }

    /// An add-on that is no longer loaded stays auditable by the id on its ledger rows.
    @Test func anAddonNoLongerLoadedStaysAuditable() async throws {
        let addons = try await AddonFixture.recorder(
            in: Self.addonsDirectory(), fields: [("usage.to", true, false)], hooks: ["message.submit"])
        let first = try await TestDaemon.start(configure: { $0.addons.directories = [addons.path] })
        let (_, client) = try await first.signUp()
        #expect(
            try await client.put("/v1/account/addons/com.example.recorder", json: ["fields": ["usage.to"]]).status
                == 201)
        #expect(try await client.send().status == 201)
        await first.stop(removeData: false)
        let second = try await TestDaemon.start(directory: first.directory)
        defer { try? FileManager.default.removeItem(at: first.directory) }
        let audit = try await second.admin.get("/v1/admin/audit?addon=com.example.recorder")
        #expect(audit.status == 200)
        #expect(audit.data.count == 1)
        // Its short id names it too, as it named it while loaded.
        #expect(try await second.admin.get("/v1/admin/audit?addon=recorder").data.count == 1)
        let typo = try await second.admin.get("/v1/admin/audit?addon=com.example.recordr")
        #expect(typo.status == 404)
        #expect(typo.text.contains("com.example.recorder"))
        // An account id with one letter wrong is no account: 404 naming it, not an empty page.
        let accountID = audit.data.first?["account_id"] as? String ?? ""
        let misspelt = String(accountID.dropLast()) + (accountID.hasSuffix("x") ? "y" : "x")
        let wrongAccount = try await second.admin.get("/v1/admin/audit?account=\(misspelt)")
        #expect(wrongAccount.status == 404, "\(wrongAccount.text)")
        #expect(wrongAccount.text.contains("is not a known account id"), "\(wrongAccount.text)")
        #expect(try await second.admin.get("/v1/admin/audit?account=\(accountID)").data.count == 1)
        // A range that ends before it starts, or a day that does not exist, is named, not answered empty.
        let reversed = try await second.admin.get(
            "/v1/admin/audit?since=2026-12-31T00:00:00Z&until=2026-01-01T00:00:00Z")
        #expect(reversed.status == 422 && reversed.errorFields == ["until"], "\(reversed.text)")
        #expect(reversed.text.contains("must be later than since"), "\(reversed.text)")
        let impossible = try await second.admin.get("/v1/admin/audit?since=2026-02-30T00:00:00Z")
        #expect(impossible.status == 422 && impossible.errorFields == ["since"], "\(impossible.text)")
        // A request that takes no parameters names a mistyped one rather than answer in full.
        let shares = try await second.admin.get("/v1/admin/accounts/\(accountID)?addon=recorder")
        #expect(shares.status == 422 && shares.errorFields == ["addon"], "\(shares.text)")
        #expect(shares.text.contains("is not a parameter of this request; it takes none"), "\(shares.text)")
        await second.stop(removeData: false)
    }

    @Test func anAddonReceivesExactlyTheGrantedFields() async throws {
        let addons = try await AddonFixture.recorder(
            in: Self.addonsDirectory(),
            fields: [
                ("usage.to", true, true), ("usage.status", true, false), ("usage.timestamp", false, false),
                ("content.body", false, false),
            ])
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (accountID, client) = try await daemon.signUp()
            // Before consent the catalog shows every field and why, and nothing is shared.
            let catalog = try await client.get("/v1/addons/com.example.recorder")
            #expect(catalog.json["enabled"] as? Bool == false)
            #expect((catalog.json["fields"] as? [[String: Any]])?.allSatisfy { $0["purpose"] is String } == true)
            let before = try #require(
                try await client.send(to: "+37255512345", body: "before consent").json["id"] as? String)
            // Consent covers events that happen after it: the message sent before it must reach its
            // final status first, or its delivery report (written in a later batch) is shared too.
            #expect(
                try await eventually {
                    try await client.get("/v1/messages/\(before)").json["status"] as? String == "delivered"
                })
            #expect(AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder").isEmpty)

            let missing = try await client.put(
                "/v1/account/addons/com.example.recorder", json: ["fields": ["usage.to"]])
            #expect(missing.status == 422)
            #expect(missing.text.contains("usage.status"))

            let receipt = try await client.put(
                "/v1/account/addons/com.example.recorder", json: ["fields": ["usage.to", "usage.status"]])
            #expect(receipt.status == 201)
            let receiptID = try #require(receipt.json["receipt_id"] as? String)
            #expect(receipt.json["third_party"] as? String == "Example Vendor")
            #expect(receipt.json["principal"] as? String == accountID)

            let id = try #require(try await client.send(to: "+37255512345", body: "secret words").json["id"] as? String)
            #expect(
                try await eventually {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder")
                        .contains { $0.what == "event" && $0.fields["usage.status"] == "text:delivered" }
                })
            let seen = AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder")
            #expect(!seen.isEmpty)
            for call in seen {
                #expect(call.accountID == accountID)
                #expect(Set(call.fields.keys).isSubset(of: ["usage.to", "usage.status"]), "\(call.fields)")
                #expect(call.fields["usage.to"]?.hasPrefix("pseudonym:psn_") == true)
                #expect(!call.fields.values.contains { $0.contains("+37255512345") || $0.contains("secret") })
            }
            // The check saw the message before acceptance; the status events after.
            #expect(seen.contains { $0.what == "check" && $0.type == "message.submit" })
            #expect(
                Set(seen.filter { $0.what == "event" }.compactMap { $0.fields["usage.status"] }) == [
                    "text:sent", "text:delivered",
                ])

            // The ledger lists every share, with the consent it happened under and no values.
            // Each delivery is recorded in the transaction that follows it.
            #expect(
                try await eventually {
                    try await daemon.admin.get("/v1/admin/audit?addon=com.example.recorder").data.count == seen.count
                })
            let audit = try await daemon.admin.get("/v1/admin/audit?addon=com.example.recorder")
            #expect(audit.data.allSatisfy { $0["consent_receipt_id"] as? String == receiptID })
            #expect(!audit.text.contains("+37255512345"))
            let shares = try await client.get("/v1/account/addons/com.example.recorder/shares")
            #expect(shares.data.count == seen.count)
            #expect(Set(shares.data.compactMap { $0["event_id"] as? String }) == Set(seen.map(\.eventID)))
            #expect(id.hasPrefix("msg_"))

            // Granting the body as well: new events carry it in the clear.
            _ = try await client.put(
                "/v1/account/addons/com.example.recorder", json: ["categories": ["usage", "content"]])
            _ = try await client.send(body: "now shared")
            #expect(
                try await eventually {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder")
                        .contains { $0.fields["content.body"] == "text:now shared" }
                })
            let verified = try await daemon.daemon.verifyLedger()
            #expect(verified.failure == nil && verified.rows > 0)
        }
    }

    @Test func withdrawalStopsDeliveryAtOnce() async throws {
        let addons = try await AddonFixture.recorder(in: Self.addonsDirectory(), fields: [("usage.to", true, true)])
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["fields": ["usage.to"]])
            // Hold events in the outbox, then withdraw while they wait.
            let state = daemon.directory.appendingPathComponent("addons/com.example.recorder")
            _ = FileManager.default.createFile(atPath: state.appendingPathComponent("refuse").path, contents: Data())
            _ = try await client.send(body: "queued while refused")
            #expect(try await eventually { try await outboxCount(daemon) > 0 })
            let withdrawn = try await client.delete("/v1/account/addons/recorder")
            #expect(withdrawn.status == 200)
            #expect(withdrawn.json["action"] as? String == "withdraw")
            #expect(try await outboxCount(daemon) == 0)
            try FileManager.default.removeItem(at: state.appendingPathComponent("refuse"))
            _ = try await client.send(body: "after withdrawal")
            try await Task.sleep(for: .milliseconds(600))
            #expect(
                AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder").filter {
                    $0.what == "event"
                }.isEmpty)
            let history = try await client.get("/v1/account/addons/recorder")
            #expect(
                (history.json["history"] as? [[String: Any]])?.compactMap { $0["action"] as? String } == [
                    "grant", "withdraw",
                ])
        }
    }

    @Test func pseudonymsAreStablePerAccountAndDifferAcrossAddonsAndAccounts() async throws {
        let directory = Self.addonsDirectory()
        try await AddonFixture.recorder(
            in: directory, id: "com.example.recorder", fields: [("usage.to", true, true)], hooks: ["message.status"])
        try await AddonFixture.recorder(
            in: directory, id: "com.example.other", fields: [("usage.to", true, true)], hooks: ["message.status"])
        try await withDaemon(configure: { $0.addons.directories = [directory.path] }) { daemon in
            let (first, alice) = try await daemon.signUp()
            let (second, bob) = try await daemon.signUp()
            for client in [alice, bob] {
                for addon in ["recorder", "other"] {
                    _ = try await client.put("/v1/account/addons/\(addon)", json: ["fields": ["usage.to"]])
                }
                for _ in 0..<2 { _ = try await client.send(to: "+37255512345") }
            }
            func tokens(_ addon: String, _ account: String) -> Set<String> {
                Set(
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: addon).filter { $0.accountID == account }
                        .compactMap { $0.fields["usage.to"] })
            }
            #expect(
                try await eventually {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.other").filter {
                        $0.fields["usage.to"] != nil
                    }.count >= 8
                })
            let a1 = tokens("com.example.recorder", first)
            let b1 = tokens("com.example.other", first)
            let a2 = tokens("com.example.recorder", second)
            #expect(a1.count == 1 && b1.count == 1 && a2.count == 1)
            #expect(a1 != b1)
            #expect(a1 != a2)
        }
    }

    @Test func theOutboxReplaysAfterARestart() async throws {
        let addons = try await AddonFixture.recorder(
            in: Self.addonsDirectory(), fields: [("usage.to", true, false)], hooks: ["message.status"])
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("sb-replay-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let configure: (inout ServeConfiguration) -> Void = { $0.addons.directories = [addons.path] }
        let first = try await TestDaemon.start(directory: dataDir, configure: configure)
        let (_, client) = try await first.signUp()
        _ = try await client.put("/v1/account/addons/recorder", json: ["fields": ["usage.to"]])
        let state = dataDir.appendingPathComponent("addons/com.example.recorder")
        _ = FileManager.default.createFile(atPath: state.appendingPathComponent("refuse").path, contents: Data())
        for index in 0..<5 { _ = try await client.send(body: "replay \(index)") }
        #expect(try await eventually { try await outboxCount(first) >= 10 })
        await first.stop(removeData: false)

        try FileManager.default.removeItem(at: state.appendingPathComponent("refuse"))
        let second = try await TestDaemon.start(directory: dataDir, configure: configure)
        #expect(try await eventually { try await outboxCount(second) == 0 })
        let events = AddonFixture.recorded(dataDir: dataDir, addonID: "com.example.recorder")
        #expect(events.filter { $0.fields["usage.status"] == nil }.count >= 10)
        #expect(Set(events.map(\.eventID)).count == events.count)
        await second.stop(removeData: false)
    }

    @Test func aBlockingAddonsReasonReachesTheCaller() async throws {
        let addons = try await AddonFixture.recorder(
            in: Self.addonsDirectory(), fields: [("content.body", true, false)], hooks: ["message.submit"])
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["content"]])
            let blocked = try await client.send(body: "please BLOCKME now")
            #expect(blocked.status == 422)
            #expect(blocked.json["addon_id"] as? String == "com.example.recorder")
            #expect(blocked.json["reason_code"] as? String == "test_block")
            #expect(blocked.text.contains("the recorder was told to block this"))
            #expect(try await client.get("/v1/messages").data.isEmpty)
            #expect(try await client.send(body: "fine").status == 201)
        }
    }

    @Test func brokenAddonsAreRefusedWithAReasonAndTheDaemonStarts() async throws {
        let directory = Self.addonsDirectory()
        try await AddonFixture.recorder(
            in: directory, id: "com.example.noentry", fields: [("usage.to", true, false)], defines: ["NO_ENTRY"])
        try await AddonFixture.recorder(
            in: directory, id: "com.example.abi", fields: [("usage.to", true, false)], defines: ["ABI_MAJOR=2"])
        try await AddonFixture.recorder(
            in: directory, id: "com.example.impostor", fields: [("usage.to", true, false)],
            manifestID: "com.example.claimed")
        try await AddonFixture.recorder(
            in: directory, id: "com.example.pinned", fields: [("usage.to", true, false)],
            pin: String(repeating: "ab", count: 32))
        try Data(#"{"manifest_version": 1, "id": "Bad Id", "fields": [{"id": "usage.nothing"}]}"#.utf8).write(
            to: directory.appendingPathComponent("bad.json"))
        try await AddonFixture.recorder(in: directory, id: "com.example.good", fields: [("usage.to", true, false)])
        try await withDaemon(configure: { $0.addons.directories = [directory.path] }) { daemon in
            let problems = daemon.daemon.addons.registry.problems
            func reason(_ file: String) -> String { problems.first { $0.file.hasSuffix(file) }?.reason ?? "" }
            #expect(reason("com.example.noentry.json").contains("does not export switchboard_addon_entry"))
            #expect(reason("com.example.abi.json").contains("ABI major 2"))
            #expect(reason("com.example.claimed.json").contains("may not claim another's id"))
            #expect(reason("com.example.pinned.json").contains("SHA-256"))
            #expect(reason("bad.json").contains("id: must be a reverse-DNS id"))
            #expect(reason("bad.json").contains("usage.nothing"))
            #expect(daemon.daemon.addons.registry.isLoaded("com.example.good"))
            #expect(daemon.daemon.addons.registry.isLoaded("com.switchboard.reporting"))
            let admin = try await daemon.admin.get("/v1/admin/addons")
            #expect((admin.json["failed"] as? [Any])?.count == 5)
            #expect(try await daemon.client.get("/healthz").status == 200)
        }
    }

    @Test func partnerAddonsMustBePinned() async throws {
        let directory = Self.addonsDirectory()
        try await AddonFixture.recorder(in: directory, fields: [("usage.to", true, false)])
        var manifest =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("com.example.recorder.json"))) as! [String: Any]
        manifest["library"] = ["path": (manifest["library"] as! [String: Any])["path"]!]
        try JSONSerialization.data(withJSONObject: manifest).write(
            to: directory.appendingPathComponent("com.example.recorder.json"))
        try await withDaemon(configure: { $0.addons.directories = [directory.path] }) { daemon in
            #expect(daemon.daemon.addons.registry.problems.first?.reason.contains("library.sha256 is missing") == true)
        }
    }

    @Test func aNewerManifestAskingForMoreRunsUnderTheOldGrant() async throws {
        let directory = Self.addonsDirectory()
        try await AddonFixture.recorder(in: directory, fields: [("usage.to", true, false)], hooks: ["message.status"])
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("sb-upgrade-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let first = try await TestDaemon.start(directory: dataDir) { $0.addons.directories = [directory.path] }
        let (accountID, client) = try await first.signUp()
        _ = try await client.put("/v1/account/addons/recorder", json: ["fields": ["usage.to"]])
        await first.stop(removeData: false)

        // Version 1.1.0 also wants the body.
        try FileManager.default.removeItem(at: directory)
        try await AddonFixture.recorder(
            in: directory, version: "1.1.0", fields: [("usage.to", true, false), ("content.body", true, false)],
            hooks: ["message.status"])
        let second = try await TestDaemon.start(directory: dataDir) { $0.addons.directories = [directory.path] }
        let again = TestClient(baseURL: second.baseURL, basic: client.basic)
        let entry = try await again.get("/v1/addons/recorder")
        #expect(entry.json["needs_reconsent"] as? Bool == true)
        _ = try await again.send(body: "not for the add-on")
        #expect(
            try await eventually {
                AddonFixture.recorded(dataDir: dataDir, addonID: "com.example.recorder").contains {
                    $0.accountID == accountID
                }
            })
        #expect(
            AddonFixture.recorded(dataDir: dataDir, addonID: "com.example.recorder").allSatisfy {
                $0.fields["content.body"] == nil
            })
        await second.stop(removeData: false)
    }

    @Test func theHeaderCompilesAsCAndCPlusPlus() async throws {
        let directory = Self.addonsDirectory()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("probe.c")
        try Data(
            "#include \"switchboard_addon.h\"\nint main(void) { return sb_event_get(NULL, \"x\") != NULL; }\n".utf8
        ).write(to: source)
        let header = AddonFixture.header.path
        let c = try await AddonFixture.run([
            "cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", header, source.path, "-o",
            directory.appendingPathComponent("c").path,
        ])
        #expect(c.status == 0, "\(c.output)")
        let cpp = try await AddonFixture.run([
            "c++", "-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", header, source.path,
            "-o", directory.appendingPathComponent("cpp").path,
        ])
        #expect(cpp.status == 0, "\(cpp.output)")
    }
}

/// Events and erasure orders in the log that an add-on has still to receive.
func outboxCount(_ daemon: TestDaemon) async throws -> Int {
    try await daemon.daemon.addons.backlog().values.reduce(0, +)
}

/// A change of `content_mode` reaches the very next check: add-ons never see a body the customer
/// has just asked to hash or hide.
@Suite struct ContentModeTests {
    @Test func theNextCheckSeesTheNewContentMode() async throws {
        let addons = try await AddonFixture.recorder(
            in: AddonPlatformTests.addonsDirectory(),
            fields: [("usage.to", true, false), ("content.body", false, false)],
            hooks: ["message.submit"])
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage", "content"]])
            func lastBody() -> String? {
                AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder")
                    .last { $0.what == "check" }?.fields["content.body"]
            }
            #expect(try await client.send(body: "first words").status == 201)
            #expect(lastBody() == "text:first words")
            #expect(try await client.patch("/v1/account", json: ["content_mode": "hash"]).status == 200)
            #expect(try await client.send(body: "second words").status == 201)
            #expect(lastBody()?.hasPrefix("digest:") == true, "\(lastBody() ?? "none")")
            #expect(try await client.patch("/v1/account", json: ["content_mode": "hide"]).status == 200)
            #expect(try await client.send(body: "third words").status == 201)
            let checks = AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder")
                .filter { $0.what == "check" }
            #expect(checks.count == 3)
            #expect(checks.last?.fields["content.body"] == nil)
        }
    }

    /// A send to a number that opted out is refused before any pre-send check runs, with the one
    /// documented answer: the add-on never learns of the person who replied STOP.
    @Test func anOptedOutRecipientIsRefusedBeforeAnyAddonHearsOfIt() async throws {
        let addons = try await AddonFixture.recorder(
            in: AddonPlatformTests.addonsDirectory(), fields: [("usage.to", true, false)], hooks: ["message.submit"])
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (_, client) = try await daemon.signUp()
            #expect(
                try await client.put("/v1/account/addons/com.example.recorder", json: ["fields": ["usage.to"]]).status
                    == 201)
            #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)
            let stop = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "STOP"])
            #expect(stop.json["opt_out"] as? String == "opted_out")
            let refused = try await client.send(to: "+37255512345")
            #expect(refused.status == 422)
            #expect(refused.json["title"] as? String == "Recipient opted out")
            #expect(refused.errorFields == ["to"])
            // Another recipient is checked as usual, so the add-on was listening all along.
            #expect(try await client.send(to: "+37255599999").status == 201)
            let checks = AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder")
                .filter { $0.what == "check" }
            #expect(checks.count == 1)
            #expect(checks.allSatisfy { $0.fields["usage.to"] == "text:+37255599999" }, "\(checks)")
        }
    }

    /// An opt-out stored before the daemon started is refused before any pre-send check too: the
    /// daemon reads every opt-out when it opens its database, not only those it receives itself.
    @Test func anOptOutFromBeforeARestartIsRefusedBeforeAnyAddonHearsOfIt() async throws {
        let addons = try await AddonFixture.recorder(
            in: AddonPlatformTests.addonsDirectory(), fields: [("usage.to", true, false)], hooks: ["message.submit"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-stop-\(UUID().uuidString)")
        let first = try await TestDaemon.start(directory: directory) { $0.addons.directories = [addons.path] }
        let (_, client) = try await first.signUp()
        #expect(
            try await client.put("/v1/account/addons/com.example.recorder", json: ["fields": ["usage.to"]]).status
                == 201)
        #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)
        let stop = try await first.admin.post(
            "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "STOP"])
        #expect(stop.json["opt_out"] as? String == "opted_out")
        await first.stop(removeData: false)
        try await withDaemon(directory: directory, configure: { $0.addons.directories = [addons.path] }) { second in
            let again = second.client.with(basic: client.basic)
            let refused = try await again.send(to: "+37255512345")
            #expect(refused.status == 422)
            #expect(refused.json["title"] as? String == "Recipient opted out")
            #expect(try await again.send(to: "+37255599999").status == 201)
            let checks = AddonFixture.recorded(dataDir: second.directory, addonID: "com.example.recorder")
                .filter { $0.what == "check" }
            #expect(checks.count == 1, "\(checks)")
            #expect(checks.allSatisfy { $0.fields["usage.to"] == "text:+37255599999" }, "\(checks)")
        }
    }
}
