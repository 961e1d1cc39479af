import Foundation
import GRDB
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// The ledger detects tampering done directly to the SQLite file, through the real `audit verify`.
@Suite(.serialized) struct LedgerTests {
    /// A data directory with a ledger of at least `shares` rows, the daemon stopped.
    static func ledgerWithShares(_ shares: Int) async throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-ledger-\(UUID().uuidString)")
        let daemon = try await TestDaemon.start(directory: directory)
        let (_, client) = try await daemon.signUp()
        _ = try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]])
        for index in 0..<(shares / 2) { _ = try await client.send(to: "+3725550\(1000 + index)") }
        _ = try await eventually { try await daemon.daemon.ledgerEntries(Ledger.Query()).count >= shares }
        await daemon.stop(removeData: false)
        return directory
    }

    static func tamper(_ directory: URL, _ sql: String) throws {
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("switchboard.sqlite").path)
        try queue.write { db in try db.execute(sql: sql) }
    }

    static func run(_ directory: URL, checkpoints: URL? = nil) throws -> (status: Int32, output: String) {
        var arguments = [DaemonProcess.executable.path, "audit", "verify", "--data-dir", directory.path]
        if let checkpoints { arguments += ["--checkpoints", checkpoints.path] }
        return try AddonFixture.run(arguments)
    }

    @Test func anIntactLedgerVerifies() async throws {
        let directory = try await Self.ledgerWithShares(8)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Self.run(directory)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ledger intact"))
        #expect(result.output.contains("signed checkpoints matched"))
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
    ])
    func tamperingIsFoundWithTheFirstBadRow(sql: String, expected: String) async throws {
        let directory = try await Self.ledgerWithShares(8)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.tamper(directory, sql)
        let result = try Self.run(directory)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("ledger BROKEN at sequence"))
        #expect(result.output.contains(expected), "\(result.output)")
    }

    @Test func exportedCheckpointsCatchATruncationThatAlsoRemovedStoredCheckpoints() async throws {
        let directory = try await Self.ledgerWithShares(8)
        defer { try? FileManager.default.removeItem(at: directory) }
        let exported = directory.appendingPathComponent("offsite")
        let export = try AddonFixture.run([
            DaemonProcess.executable.path, "audit", "checkpoints", exported.path, "--data-dir", directory.path,
        ])
        #expect(export.status == 0, "\(export.output)")
        try Self.tamper(directory, "DELETE FROM ledger WHERE seq > 4; DELETE FROM ledger_checkpoints")
        #expect(try Self.run(directory).status == 0)  // Alone, the shortened ledger looks whole...
        let result = try Self.run(directory, checkpoints: exported)
        #expect(result.status == 1)  // ...but not against the checkpoint kept off the host.
        #expect(result.output.contains("truncated"))
        let key = try AddonFixture.run([DaemonProcess.executable.path, "audit", "key", "--data-dir", directory.path])
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
            #expect(try await eventually { try await daemon.daemon.ledgerEntries(Ledger.Query()).count >= 2 })
            try await daemon.daemon.ledger.checkpoint()
            clock.advance(by: 31 * 86_400)
            _ = try await client.send()
            #expect(try await eventually { try await daemon.daemon.ledgerEntries(Ledger.Query()).count >= 4 })
            let removed = try await daemon.daemon.ledger.compact()
            #expect(removed >= 2)
            let outcome = try await daemon.daemon.verifyLedger()
            #expect(outcome.failure == nil)
            #expect(outcome.rows >= 2)
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
            #expect(try await eventually { try await daemon.daemon.ledgerEntries(Ledger.Query()).count >= 2 })
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
}
