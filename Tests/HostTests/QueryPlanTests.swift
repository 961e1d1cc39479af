import Foundation
import GRDB
import SwitchboardCore
import Testing

/// Queries that run at every wake-up of a background worker read only what is pending, through the
/// index built for it, however much history the table holds.
@Suite struct QueryPlanTests {
    @Test func dueCallbacksAreReadThroughThePendingIndexWithoutASort() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("db.sqlite").path, durability: .normal)
        let plan = try pool.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN " + StatusCallbackQueue.dueSQL,
                arguments: [1, 1, "[1]", "[\"a:80\"]", "[\"acc_x\"]", 64]
            ).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("SEARCH c USING INDEX callbacks_due") }, "plan: \(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN c") }, "plan: \(plan)")
        #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "plan: \(plan)")
    }
}
