import Foundation
import GRDB
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// The ledger detects tampering done directly to the SQLite file, through the real `audit verify`.
@Suite(.serialized) struct LedgerTests {
    /// A data directory with a ledger of at least `rows` rows, the daemon stopped. Events delivered
    /// in one batch share a row, so each message is sent once the previous one is recorded.
    static func ledgerWithShares(_ rows: Int) async throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-ledger-\(UUID().uuidString)")
        let daemon = try await TestDaemon.start(directory: directory)
        let (_, client) = try await daemon.signUp()
        _ = try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]])
        var recorded = 0
        var index = 0
        while recorded < rows {
            _ = try await client.send(to: "+3725550\(1000 + index)")
            index += 1
            let before = recorded
            _ = try await eventually {
                recorded = try await daemon.daemon.ledgerEntries(Ledger.Query()).count
                return recorded > before
            }
        }
        await daemon.stop(removeData: false)
        return directory
    }

    /// Events recorded so far: a ledger row covers every event of its batch.
    static func sharedEvents(_ daemon: TestDaemon) async throws -> Int {
        try await daemon.daemon.ledgerEntries(Ledger.Query()).reduce(0) { $0 + $1.eventIDs.count }
    }

    static func tamper(_ directory: URL, _ sql: String) throws {
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("switchboard.sqlite").path)
        try queue.write { db in try db.execute(sql: sql) }
    }

    static func run(_ directory: URL, checkpoints: URL? = nil) async throws -> (status: Int32, output: String) {
        var arguments = [DaemonProcess.executable.path, "audit", "verify", "--data-dir", directory.path]
        if let checkpoints { arguments += ["--checkpoints", checkpoints.path] }
        return try await AddonFixture.run(arguments)
    }

    @Test func anIntactLedgerVerifies() async throws {
        let directory = try await Self.ledgerWithShares(8)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await Self.run(directory)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ledger intact"))
        #expect(result.output.contains("signed checkpoints matched"))
    }

    /// Before its first checkpoint a ledger verifies by its chain alone, and the answer says no key
    /// has signed yet rather than counting "0 signing keys", which read as a missing key.
    @Test func aLedgerWithoutCheckpointsSaysNoneWasSignedYet() async throws {
        let directory = try await Self.ledgerWithShares(2)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.tamper(directory, "DELETE FROM ledger_checkpoints")
        let result = try await Self.run(directory)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("rows verified, no signed checkpoint yet"), "\(result.output)")
        #expect(!result.output.contains("signing key"), "\(result.output)")
    }

    @Test(arguments: [
        ("UPDATE ledger SET fields = 'usage.to:clear' WHERE seq = 3", "row 3 was altered"),
        ("DELETE FROM ledger WHERE seq = 4", "row 4 is missing"),
        (
            "UPDATE ledger SET seq = seq + 100 WHERE seq = 5; UPDATE ledger SET seq = 5 WHERE seq = 6; UPDATE ledger SET seq = 6 WHERE seq = 105",
            "row 5"
        ),
        (
            "INSERT INTO ledger SELECT seq + 1000, at, 'com.example.x', addon_version, account_id, event_id, event_type, fields, consent_id, hash, hash FROM ledger WHERE seq = (SELECT MAX(seq) FROM ledger)",
            "row"
        ),
        ("DELETE FROM ledger WHERE seq > 5", "truncated"),
        // A value cast to another storage class reads back the same, so the hash matches, but no
        // longer matches `addon_id = ?` or a time range: the row would vanish from audit queries.
        ("UPDATE ledger SET addon_id = CAST(addon_id AS BLOB) WHERE seq = 3", "row 3 was altered (its addon_id"),
        ("UPDATE ledger SET at = CAST(at AS BLOB) WHERE seq = 2", "row 2 was altered (its at is stored"),
        ("UPDATE ledger SET account_id = CAST(account_id AS BLOB) WHERE seq = 7", "its account_id"),
        // An index rebuilt to leave a row out, then given back its usual definition in the schema:
        // every query by add-on misses the row while each row still hashes as it should.
        (
            "PRAGMA writable_schema = ON; DROP INDEX ledger_addon; CREATE INDEX ledger_addon ON ledger(addon_id, at) WHERE seq <> 4; UPDATE sqlite_master SET sql = 'CREATE INDEX ledger_addon ON ledger(addon_id, at)' WHERE name = 'ledger_addon'",
            "the ledger's indexes do not match its rows"
        ),
    ])
    func tamperingIsFoundWithTheFirstBadRow(sql: String, expected: String) async throws {
        let directory = try await Self.ledgerWithShares(8)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.tamper(directory, sql)
        let result = try await Self.run(directory)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("ledger BROKEN at sequence"))
        #expect(result.output.contains(expected), "\(result.output)")
    }

    /// A checkpoint directory that is missing, a file, or holds a file that is no checkpoint is
    /// named with what to give instead.
    @Test func aCheckpointDirectoryThatCannotBeReadIsNamed() async throws {
        let directory = try await Self.ledgerWithShares(2)
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = try await Self.run(directory, checkpoints: directory.appendingPathComponent("nowhere"))
        #expect(missing.status != 0 && missing.output.contains("nowhere does not exist"), "\(missing.output)")
        let file = directory.appendingPathComponent("switchboard.sqlite")
        let notDirectory = try await Self.run(directory, checkpoints: file)
        #expect(notDirectory.output.contains("is a file, not a directory"), "\(notDirectory.output)")
        let stray = directory.appendingPathComponent("exports")
        try FileManager.default.createDirectory(at: stray, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: stray.appendingPathComponent("notes.json"))
        let strayFile = try await Self.run(directory, checkpoints: stray)
        #expect(strayFile.output.contains("notes.json is not a checkpoint"), "\(strayFile.output)")
        #expect(!missing.output.contains("NSCocoaErrorDomain"), "\(missing.output)")
    }

    @Test func exportedCheckpointsCatchATruncationThatAlsoRemovedStoredCheckpoints() async throws {
        let directory = try await Self.ledgerWithShares(8)
        defer { try? FileManager.default.removeItem(at: directory) }
        let exported = directory.appendingPathComponent("offsite")
        let export = try await AddonFixture.run([
            DaemonProcess.executable.path, "audit", "checkpoints", exported.path, "--data-dir", directory.path,
        ])
        #expect(export.status == 0, "\(export.output)")
        try Self.tamper(directory, "DELETE FROM ledger WHERE seq > 4; DELETE FROM ledger_checkpoints")
        #expect(try await Self.run(directory).status == 0)  // Alone, the shortened ledger looks whole...
        let result = try await Self.run(directory, checkpoints: exported)
        #expect(result.status == 1)  // ...but not against the checkpoint kept off the host.
        #expect(result.output.contains("truncated"))
        let key = try await AddonFixture.run([
            DaemonProcess.executable.path, "audit", "key", "--data-dir", directory.path,
        ])
        let file = try FileManager.default.contentsOfDirectory(atPath: exported.path).first!
        let checkpoint =
            try JSONSerialization.jsonObject(with: Data(contentsOf: exported.appendingPathComponent(file)))
            as? [String: Any]
        #expect(checkpoint?["public_key"] as? String == key.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func compactionKeepsTheChainVerifiable() async throws {
        let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
        try await withDaemon(clock: clock, configure: { $0.ledger.retentionDays = 30 }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]])
            _ = try await client.send()
            #expect(try await eventually { try await Self.sharedEvents(daemon) >= 2 })
            try await daemon.daemon.ledger.checkpoint()
            clock.advance(by: 31 * 86_400)
            _ = try await client.send()
            #expect(try await eventually { try await Self.sharedEvents(daemon) >= 4 })
            let removed = try await daemon.daemon.ledger.compact()
            #expect(removed >= 1)
            let outcome = try await daemon.daemon.verifyLedger()
            #expect(outcome.failure == nil)
            #expect(outcome.rows >= 1)
            #expect(
                try await daemon.daemon.ledgerEntries(Ledger.Query()).allSatisfy {
                    $0.at >= clock.now().addingTimeInterval(-30 * 86_400).epochMillis
                })
        }
    }

    @Test func summariesAndTheAccessReport() async throws {
        try await withDaemon { daemon in
            let (accountID, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]])
            _ = try await client.send()
            #expect(try await eventually { try await Self.sharedEvents(daemon) >= 2 })
            let summary = try await daemon.admin.get("/v1/admin/audit?summary=true&addon=reporting")
            let rows = try #require(try JSONSerialization.jsonObject(with: summary.body) as? [[String: Any]])
            #expect(rows.first?["category"] as? String == "usage")
            #expect(rows.first?["shares"] as? Int ?? 0 >= 2)
            let ndjson = try await daemon.admin.get("/v1/admin/audit?format=ndjson")
            #expect(
                ndjson.text.split(separator: "\n").allSatisfy {
                    (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil
                })
            let report = try #require(try await daemon.daemon.accessReport(accountID: accountID))
            #expect(report.contains("com.switchboard.reporting"))
            #expect(report.contains("\"shared_with_addons\""))
        }
    }

    /// A delivered batch about one account becomes one hash-chained record per set of fields, and
    /// every answer still counts and lists events: the summary, the listing, and `verify`, which
    /// also catches an event taken out of a record's list.
    @Test func aBatchIsOneRecordThatStillAnswersPerEvent() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("db.sqlite").path, durability: .normal,
            migrations: DaemonSchema.migrations)
        func share(_ event: Int, account: String, treatment: ViewField.Treatment) -> Ledger.Share {
            let view = AddonView(
                eventID: "evt_\(event)", type: .messageStatus, accountID: account, timeMs: 0,
                fields: [
                    ViewField(id: "usage.to", value: .text("psn_1"), treatment: treatment),
                    ViewField(id: "usage.status", value: .text("sent"), treatment: .clear),
                ])
            return Ledger.Share(addonID: "com.example.a", addonVersion: "1.0.0", view: view, consentID: "cr_1")
        }
        // 100 events of one account, two of them shared in the clear, and one of another account.
        var batch = (0..<100).map { share($0, account: "acc_1", treatment: $0 % 50 == 7 ? .clear : .pseudonym) }
        batch.append(share(100, account: "acc_2", treatment: .pseudonym))
        try await pool.write { [batch] db in try Ledger.append(db, batch, at: 1_763_800_000_000) }

        let entries = try await pool.read { db in try Ledger.query(db, Ledger.Query()) }
        #expect(entries.count == 3)
        #expect(entries.map { $0.eventIDs.count } == [98, 2, 1])
        #expect(entries[0].eventIDs.prefix(3) == ["evt_0", "evt_1", "evt_2"])
        #expect(entries[1].eventIDs == ["evt_7", "evt_57"])
        #expect(entries[1].fields == ["usage.to:clear", "usage.status:clear"])
        let summary = try await pool.read { db in try ShareSummary.forAccount(db, accountID: "acc_1") }
        #expect(summary.first?.shares == 100)
        #expect(summary.first?.fields["usage.to:clear"] == 2)
        let perDay = try await pool.read { db in try ShareSummary.perDay(db, Ledger.Query()) }
        #expect(perDay.map(\.shares) == [101])
        var byField = Ledger.Query()
        byField.accountID = "acc_1"
        byField.field = "usage.to"
        let query = byField
        let recordsWithTheField = try await pool.read { db in try Ledger.query(db, query) }
        #expect(recordsWithTheField.count == 2)

        let intact = try await pool.read { db in try LedgerVerifier.verify(db, external: [], hostKey: nil) }
        #expect(intact.failure == nil)
        #expect(intact.rows == 3)
        try await pool.write { db in
            try db.execute(sql: "UPDATE ledger SET event_id = replace(event_id, ',evt_57', '') WHERE seq = 2")
        }
        let tampered = try await pool.read { db in try LedgerVerifier.verify(db, external: [], hostKey: nil) }
        #expect(tampered.failure?.seq == 2)
    }
}
