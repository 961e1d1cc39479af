import Foundation
import GRDB
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// Erasure at its edges: the request itself leaks nothing, reaches every add-on that ever received
/// data (also after ledger compaction), leaves nothing readable in the files, and cannot be undone
/// by requests that were in flight.
@Suite struct ErasureEdgeTests {
    static func addonsDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sb-erasure-edge-\(UUID().uuidString)")
    }

    @Test func anErasureRequestTellsEachAddonOnlyWhatItAlreadyHad() async throws {
        let addons = Self.addonsDirectory()
        try await AddonFixture.recorder(
            in: addons, id: "com.example.pseudonymous", fields: [("usage.to", true, true)], hooks: ["message.status"])
        try await AddonFixture.recorder(
            in: addons, id: "com.example.clear", fields: [("usage.to", true, false)], hooks: ["message.status"])
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (accountID, client) = try await daemon.signUp()
            for addon in ["pseudonymous", "clear"] {
                #expect(
                    try await client.put("/v1/account/addons/\(addon)", json: ["fields": ["usage.to"]]).status == 201)
            }
            let number = "+37255577701"
            _ = try await client.send(to: number)
            #expect(
                try await eventually {
                    !AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.pseudonymous").isEmpty
                        && !AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.clear").isEmpty
                })
            let token = try #require(
                AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.pseudonymous").first?
                    .fields["usage.to"])
            #expect(token.hasPrefix("pseudonym:"))
            // A withdrawn add-on is still asked to erase what it holds, and still only by pseudonym.
            #expect(try await client.delete("/v1/account/addons/pseudonymous").status == 200)

            let erasure = try await client.post("/v1/account/erasures", json: ["number": number])
            #expect(erasure.status == 202, "\(erasure.text)")
            func erased(_ addon: String) -> AddonFixture.Recorded? {
                AddonFixture.recorded(dataDir: daemon.directory, addonID: addon).first { $0.what == "erase" }
            }
            #expect(
                try await eventually { erased("com.example.pseudonymous") != nil && erased("com.example.clear") != nil }
            )
            let pseudonymous = try #require(erased("com.example.pseudonymous"))
            #expect(pseudonymous.type == accountID)
            #expect(pseudonymous.accountID == "", "the clear number reached an add-on that only had its pseudonym")
            #expect("pseudonym:" + (pseudonymous.fields["pseudonym"] ?? "") == token)
            let clear = try #require(erased("com.example.clear"))
            #expect(clear.accountID == number)
            #expect(clear.fields["pseudonym"]?.isEmpty == false)
            // Once both add-ons answered, the request no longer keeps the number it erased.
            let requestID = try #require(erasure.json["id"] as? String)
            #expect(
                try await eventually {
                    try await client.get("/v1/account/erasures/\(requestID)").json["state"] as? String == "done"
                })
            let settled = try await client.get("/v1/account/erasures/\(requestID)").json
            #expect(settled["subject_value"] == nil, "\(settled)")
            let kept = try await DatabaseQueue(
                path: daemon.directory.appendingPathComponent("switchboard.sqlite").path
            ).read { db in
                try String.fetchAll(
                    db, sql: "SELECT subject_value FROM erasure_requests WHERE subject_value IS NOT NULL")
            }
            #expect(kept.isEmpty, "\(kept)")
            // Nothing in the pseudonymous add-on's files names the number.
            let files = try FileManager.default.contentsOfDirectory(
                atPath: daemon.directory.appendingPathComponent("addons/com.example.pseudonymous").path)
            for file in files {
                let text =
                    (try? String(
                        contentsOf: daemon.directory.appendingPathComponent("addons/com.example.pseudonymous/\(file)"),
                        encoding: .utf8)) ?? ""
                #expect(!text.contains(number), "\(file)")
            }
        }
    }

    @Test func anAddonWhoseLedgerRowsWereCompactedIsStillAskedToErase() async throws {
        let addons = Self.addonsDirectory()
        try await AddonFixture.recorder(in: addons, fields: [("usage.to", true, false)], hooks: ["message.status"])
        let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
        try await withDaemon(
            clock: clock,
            configure: {
                $0.addons.directories = [addons.path]
                $0.ledger.retentionDays = 30
            }
        ) { daemon in
            let (accountID, client) = try await daemon.signUp()
            #expect(try await client.put("/v1/account/addons/recorder", json: ["fields": ["usage.to"]]).status == 201)
            _ = try await client.send()
            #expect(
                try await eventually {
                    try await daemon.daemon.ledgerEntries(Ledger.Query()).contains { $0.accountID == accountID }
                })
            _ = try await eventually { try await outboxCount(daemon) == 0 }
            try await daemon.daemon.ledger.checkpoint()
            clock.advance(by: 31 * 86_400)
            #expect(try await daemon.daemon.ledger.compact() >= 1)
            #expect(try await daemon.daemon.ledgerEntries(Ledger.Query()).allSatisfy { $0.accountID != accountID })

            let deleted = try await client.delete("/v1/account")
            #expect(deleted.status == 200)
            let asked = ((deleted.json["addon_erasure"] as? [String: Any])?["addons"] as? [[String: Any]] ?? [])
                .compactMap { $0["addon_id"] as? String }
            #expect(asked == ["com.example.recorder"])
            #expect(
                try await eventually {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: "com.example.recorder").contains {
                        $0.what == "erase" && $0.eventID == "1"
                    }
                })
        }
    }

    /// Every file of the data directory's database (the database, its WAL and shared memory).
    static func databaseBytes(_ directory: URL) throws -> Data {
        var bytes = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where name.hasPrefix("switchboard.sqlite") {
            bytes.append(try Data(contentsOf: directory.appendingPathComponent(name)))
        }
        return bytes
    }

    @Test func erasedDataIsGoneFromTheDatabaseFiles() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("sb-erased-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let daemon = try await TestDaemon.start(directory: dataDir)
        let (_, client) = try await daemon.signUp(email: "zebra-\(UUID().uuidString.prefix(6))@example.com")
        let body = "zebra-unicorn-\(UUID().uuidString)"
        let callback = "https://example.com/callbacks/zebra-\(UUID().uuidString)"
        let sent = try await client.send(body: body, callback: callback)
        #expect(sent.status == 201)
        let secret = try #require(try await client.get("/v1/account").json["webhook_signing_secret"] as? String)
        let id = sent.json["id"] as? String ?? ""
        _ = try await eventually { try await client.get("/v1/messages/\(id)").json["status"] as? String == "delivered" }
        let before = try Self.databaseBytes(dataDir)
        // The test would prove nothing if the values were not in the files to begin with.
        #expect(before.range(of: Data(body.utf8)) != nil)
        #expect(before.range(of: Data(secret.utf8)) != nil)

        #expect(try await client.delete("/v1/account").status == 200)
        await daemon.stop(removeData: false)
        let after = try Self.databaseBytes(dataDir)
        #expect(after.range(of: Data(body.utf8)) == nil, "the erased body is still in the database files")
        #expect(after.range(of: Data(callback.utf8)) == nil, "the callback URL is still in the database files")
        #expect(after.range(of: Data(secret.utf8)) == nil, "the webhook secret is still in the database files")
    }

    @Test func nothingIsWrittenBackOntoAnErasedAccount() async throws {
        try await withDaemon { daemon in
            let (accountID, client) = try await daemon.signUp()
            // Authenticated requests record the sign-in in the background: a time and address to erase.
            #expect(try await eventually { try await client.get("/v1/account").json["last_login_at"] is String })
            #expect(try await client.delete("/v1/account").status == 200)
            let writer = daemon.daemon.addons.writer
            // A sign-in recorded by a request that authenticated just before the erasure lands after
            // it, as one statement with the address and alone with the time.
            try await writer.write { db in
                try db.execute(
                    sql:
                        "UPDATE accounts SET last_login_at = 1, last_login_ip = '203.0.113.9', name = 'Ada' WHERE id = ?",
                    arguments: [accountID])
                try db.execute(sql: "UPDATE accounts SET last_login_at = 2 WHERE id = ?", arguments: [accountID])
            }
            let read: Row? = try writer.pool.read { db in
                try Row.fetchOne(
                    db, sql: "SELECT last_login_at, last_login_ip, name, status FROM accounts WHERE id = ?",
                    arguments: [accountID])
            }
            let row = try #require(read)
            #expect(row["last_login_at"] as Int64? == nil)
            #expect(row["last_login_ip"] as String? == nil)
            #expect(row["name"] as String? == nil)
            #expect(row["status"] as String == "erased")
            // Rows that hold personal data cannot be added for it either.
            await #expect(throws: DatabaseError.self) {
                try await writer.write { db in
                    try db.execute(
                        sql: """
                            INSERT INTO contacts (id, account_id, number, name, notes, groups, created_at, updated_at)
                            VALUES ('ct_late', ?, '+37255512345', 'Late', '', '[]', 0, 0)
                            """, arguments: [accountID])
                }
            }
        }
    }

    @Test func requestsRacingADeletionWriteNothingBack() async throws {
        // A daemon per trial: the requests that lose the race fail authentication, and enough of
        // those from one address would throttle the next trial's deletion.
        for _ in 0..<4 {
            try await withDaemon { daemon in
                let (accountID, client) = try await daemon.signUp()
                let requests = (0..<40).map { index in
                    Task {
                        _ =
                            index % 2 == 0
                            ? try await client.get("/v1/account")
                            : try await client.patch("/v1/account", json: ["name": "Written Back"])
                    }
                }
                let deleted = try await client.delete("/v1/account")
                #expect(deleted.status == 200, "\(deleted.text)")
                for request in requests { _ = await request.result }
                let read: Row? = try daemon.daemon.addons.writer.pool.read { db in
                    try Row.fetchOne(
                        db, sql: "SELECT last_login_ip, name FROM accounts WHERE id = ?", arguments: [accountID])
                }
                let row = try #require(read)
                #expect(row["last_login_ip"] as String? == nil)
                #expect(row["name"] as String? == nil)
            }
        }
    }

    @Test func switchingFromHashToHideDropsTheDigestsKept() async throws {
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            #expect(try await client.patch("/v1/account", json: ["content_mode": "hash"]).status == 200)
            let id = try #require(try await client.send(body: "hashed then hidden").json["id"] as? String)
            #expect(
                try await eventually {
                    try await client.get("/v1/messages/\(id)").json["body_digest"] as? String != nil
                })
            #expect(try await client.patch("/v1/account", json: ["content_mode": "hide"]).status == 200)
            let message = try await client.get("/v1/messages/\(id)").json
            #expect(message["body_digest"] == nil, "\(message)")
            #expect(message["body"] == nil)
        }
    }

    /// The index of grants in force is re-read every second; a read that started before a
    /// withdrawal committed must not bring the withdrawn grant back.
    @Test func aReloadRacingAWithdrawalDoesNotRestoreTheGrant() async throws {
        try await withDaemon { daemon in
            let consents = daemon.daemon.addons.consents
            for _ in 0..<20 {
                let (accountID, client) = try await daemon.signUp()
                #expect(
                    try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]]).status == 201)
                let reloads = Task {
                    while !Task.isCancelled { try? await consents.reload() }
                }
                // Withdrawn by the customer, then granted again and withdrawn by the account's erasure.
                #expect(try await client.delete("/v1/account/addons/reporting").status < 300)
                #expect(consents.current(accountID: accountID, addonID: "com.switchboard.reporting") == nil)
                #expect(
                    try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]]).status == 201)
                #expect(try await client.delete("/v1/account").status == 200)
                for _ in 0..<50 {
                    #expect(consents.current(accountID: accountID, addonID: "com.switchboard.reporting") == nil)
                    await Task.yield()
                }
                reloads.cancel()
                _ = await reloads.value
            }
        }
    }

    @Test func anErasedAccountEnablesNoAddon() async throws {
        try await withDaemon { daemon in
            let (accountID, client) = try await daemon.signUp()
            #expect(try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]]).status == 201)
            #expect(
                daemon.daemon.addons.consents.current(accountID: accountID, addonID: "com.switchboard.reporting") != nil
            )
            #expect(try await client.delete("/v1/account").status == 200)
            #expect(
                daemon.daemon.addons.consents.current(accountID: accountID, addonID: "com.switchboard.reporting") == nil
            )
            let history = try await daemon.daemon.addons.consents.history(
                accountID: accountID, addonID: "com.switchboard.reporting")
            #expect(history.last?.action == .withdraw)
        }
    }
}
