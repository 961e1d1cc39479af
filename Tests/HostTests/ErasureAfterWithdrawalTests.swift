import Foundation
import Testing

/// Erasure may be asked of an add-on after consent to it was withdrawn without it (GDPR article 17):
/// the add-on alone is asked, by the account, whether or not it is still enabled.
@Suite struct ErasureAfterWithdrawalTests {
    @Test func aWithdrawnAddonCanStillBeAskedToEraseWhatItReceived() async throws {
        let addons = ErasureEdgeTests.addonsDirectory()
        try await AddonFixture.recorder(
            in: addons, id: "com.example.kept", fields: [("usage.to", true, false)], hooks: ["message.status"])
        try await AddonFixture.recorder(
            in: addons, id: "com.example.unused", fields: [("usage.to", true, false)], hooks: ["message.status"])
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (accountID, client) = try await daemon.signUp()
            #expect(try await client.put("/v1/account/addons/kept", json: ["fields": ["usage.to"]]).status == 201)
            _ = try await client.send(to: "+37255577702")
            #expect(
                try await eventually {
                    !AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.kept").isEmpty
                })
            // Withdrawn without erase=true: nothing was asked yet, and the withdrawal cannot be repeated.
            #expect(try await client.delete("/v1/account/addons/kept").status == 200)
            #expect(try await client.delete("/v1/account/addons/kept?erase=true").status == 404)

            let both = try await client.post(
                "/v1/account/erasures", json: ["addon": "kept", "number": "+37255577702"])
            #expect(both.status == 422 && both.errorFields == ["number"], "\(both.text)")
            let unknown = try await client.post("/v1/account/erasures", json: ["addon": "com.example.nobody"])
            #expect(unknown.status == 404, "\(unknown.text)")

            // Under an operator legal hold nothing is erased and no add-on is asked.
            let hold = "/v1/admin/accounts/\(accountID)/legal-hold"
            #expect(try await daemon.admin.put(hold, json: ["reason": "court order 9"]).status == 200)
            let held = try await client.post("/v1/account/erasures", json: ["addon": "kept"])
            #expect(held.status == 409 && held.text.contains("legal hold"), "\(held.text)")
            #expect(try await client.get("/v1/account/erasures").data.isEmpty)
            #expect(try await daemon.admin.delete(hold).status == 200)

            let erasure = try await client.post("/v1/account/erasures", json: ["addon": "kept"])
            #expect(erasure.status == 202, "\(erasure.text)")
            #expect(erasure.json["subject"] as? String == "account", "\(erasure.text)")
            let asked = (erasure.json["addons"] as? [[String: Any]] ?? []).compactMap { $0["addon_id"] as? String }
            #expect(asked == ["com.example.kept"], "\(erasure.text)")
            #expect(
                try await eventually {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.kept").contains {
                        $0.what == "erase" && $0.type == accountID
                    }
                })
            // An add-on that never received the account's data has nothing to erase.
            let nothing = try await client.post("/v1/account/erasures", json: ["addon": "unused"])
            #expect(nothing.status == 202 && nothing.json["state"] as? String == "done", "\(nothing.text)")
            #expect((nothing.json["addons"] as? [Any])?.isEmpty == true, "\(nothing.text)")
        }
    }
}
