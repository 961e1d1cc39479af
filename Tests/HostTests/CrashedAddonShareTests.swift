import Foundation
import SwitchboardAddons
import Testing

/// An isolated add-on that reads an event and crashes before it answers has still received it: the
/// ledger records the share, the customer sees it, and an erasure of the account reaches the add-on.
@Suite struct CrashedAddonShareTests {
    @Test func anEventReadBeforeACrashIsAShareAndErasureReachesTheAddon() async throws {
        let addons = ErasureEdgeTests.addonsDirectory()
        defer { try? FileManager.default.removeItem(at: addons) }
        let id = "com.example.crashy"
        try await AddonFixture.recorder(
            in: addons, id: id, fields: [("usage.to", true, false)], hooks: ["message.status"],
            isolation: "isolated")
        try await withDaemon(configure: RunnerTests.configure(addons)) { daemon in
            let (accountID, client) = try await daemon.signUp()
            #expect(try await client.put("/v1/account/addons/crashy", json: ["fields": ["usage.to"]]).status == 201)
            let state = daemon.directory.appendingPathComponent("addons/\(id)")
            try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
            try Data("abortafter".utf8).write(to: state.appendingPathComponent("hostile"))
            _ = try await client.send(to: "+37255577703")

            // The add-on read the number, then crashed before it answered.
            #expect(
                try await eventually {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: id).contains {
                        $0.fields["usage.to"]?.hasSuffix("+37255577703") == true
                    }
                })
            #expect(
                try await eventually {
                    (daemon.daemon.addons.registry.runtimeStatus(id)?.crashes ?? 0) > 0
                })
            // What crossed is in the ledger although no answer came back.
            #expect(
                try await eventually {
                    var query = Ledger.Query()
                    query.addonID = id
                    return try await daemon.daemon.ledgerEntries(query).contains {
                        $0.accountID == accountID && $0.fields.contains("usage.to:clear")
                    }
                })
            let shares = try await client.get("/v1/account/shares")
            #expect(shares.text.contains(id), "\(shares.text)")
            // It takes no filter: a mistyped one is named, not answered with the full summary.
            let filtered = try await client.get("/v1/account/shares?addon=crashy")
            #expect(filtered.status == 422 && filtered.errorFields == ["addon"], "\(filtered.text)")

            // Deleting the account asks the add-on to erase what it read.
            try FileManager.default.removeItem(at: state.appendingPathComponent("hostile"))
            let deleted = try await client.delete("/v1/account")
            #expect(deleted.status == 200, "\(deleted.text)")
            let asked = ((deleted.json["addon_erasure"] as? [String: Any])?["addons"] as? [[String: Any]] ?? [])
                .compactMap { $0["addon_id"] as? String }
            #expect(asked == [id], "\(deleted.text)")
        }
    }
}
