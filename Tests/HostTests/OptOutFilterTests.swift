import Foundation
import GRDB
import SwitchboardCore
import Testing

/// The opt-out filter may answer "maybe" for a number that never opted out, but never "no" for one
/// that did: it is loaded from a real database file and told of each new opt-out.
@Suite struct OptOutFilterTests {
    @Test func everyStoredOptOutIsAMaybeAndAnUnknownNumberIsANo() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-optout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("db.sqlite").path, durability: .full)
        let stored = (0..<2_000).map { ("acc_\($0 % 7)", "+3725550\(String(format: "%04d", $0))") }
        try await pool.write { db in
            for account in Set(stored.map(\.0)) {
                try db.execute(
                    sql: "INSERT INTO accounts (id, webhook_secret, created_at, updated_at) VALUES (?, 'secret', 0, 0)",
                    arguments: [account])
            }
            for (account, number) in stored {
                try db.execute(
                    sql: "INSERT INTO opt_outs (account_id, number, keyword, created_at) VALUES (?, ?, 'STOP', 0)",
                    arguments: [account, number])
            }
        }
        let filter = try await pool.read { try OptOutFilter.load($0) }
        #expect(filter.count == stored.count)
        #expect(stored.allSatisfy { filter.mayHaveOptedOut(accountID: $0.0, number: $0.1) })
        // The same number for another account is another pair: acc_1 holds +37255500001, not acc_0.
        #expect(!filter.mayHaveOptedOut(accountID: "acc_0", number: "+37255500001"))
        #expect(!filter.mayHaveOptedOut(accountID: "acc_0", number: "+37255599999"))

        filter.note(accountID: "acc_0", number: "+37255599999")
        #expect(filter.mayHaveOptedOut(accountID: "acc_0", number: "+37255599999"))
        #expect(!filter.mayHaveOptedOut(accountID: "acc_1", number: "+37255599999"))
    }
}
