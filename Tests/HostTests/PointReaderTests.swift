import Foundation
import GRDB
import SwitchboardCore
import Testing

/// The point reader runs prepared statements by hand on a connection of its own: each lookup must
/// see the newest commit (its statement keeps no snapshot between lookups), bind every kind of
/// value it is given, and report SQLite's errors as GRDB does.
@Suite struct PointReaderTests {
    private func withWriter(_ body: (GroupCommitWriter) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-point-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("db.sqlite").path, durability: .full)
        let writer = GroupCommitWriter(pool: pool)
        try await writer.write { db in
            try db.execute(sql: "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, b BLOB, s TEXT)")
        }
        try await body(writer)
    }

    private struct Found: Sendable, Equatable {
        var n: Int64?
        var s: String?
    }

    private func lookup(_ reader: PointReader, _ key: String) throws -> Found? {
        try reader.fetchOne(
            "SELECT n, s FROM t WHERE k = ?", bind: { $0.bind(key) }, row: { Found(n: $0.integer(0), s: $0.text(1)) })
    }

    @Test func eachLookupSeesTheNewestCommit() async throws {
        try await withWriter { writer in
            #expect(try lookup(writer.lookups, "a") == nil)
            for round in 1...50 {
                try await writer.write { db in
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO t (k, n, s) VALUES ('a', ?, ?)",
                        arguments: [round, "round \(round)"])
                }
                #expect(try lookup(writer.lookups, "a") == Found(n: Int64(round), s: "round \(round)"))
            }
            try await writer.write { db in try db.execute(sql: "DELETE FROM t") }
            #expect(try lookup(writer.lookups, "a") == nil)
        }
    }

    @Test func nullsTextAndBlobsBindAsGiven() async throws {
        try await withWriter { writer in
            try await writer.write { db in
                try db.execute(sql: "INSERT INTO t (k, n, b, s) VALUES ('ü 🙂', NULL, x'00ff', NULL)")
            }
            #expect(try lookup(writer.lookups, "ü 🙂") == Found(n: nil, s: nil))
            let length = try writer.lookups.fetchOne(
                "SELECT length(b) FROM t WHERE b = ?", bind: { $0.bind(Data([0x00, 0xFF])) }, row: { $0.integer(0) })
            #expect(length == 2)
            // An empty value is an empty BLOB, not NULL.
            let empty = try writer.lookups.fetchOne(
                "SELECT typeof(?) || ':' || length(?1)", bind: { $0.bind(Data()) }, row: { $0.text(0) })
            #expect(empty == "blob:0")
            let null = try writer.lookups.fetchOne(
                "SELECT count(*) FROM t WHERE s IS ?", bind: { $0.bind(nil as String?) }, row: { $0.integer(0) })
            #expect(null == 1)
        }
    }

    @Test func aBadStatementIsADatabaseErrorNamingIt() async throws {
        try await withWriter { writer in
            let failure = #expect(throws: DatabaseError.self) {
                try writer.lookups.fetchOne("SELECT nope FROM t", bind: { _ in }, row: { $0.integer(0) })
            }
            #expect(failure?.resultCode == .SQLITE_ERROR)
            #expect(failure?.sql == "SELECT nope FROM t")
            #expect(failure?.message?.contains("nope") == true)
            // The connection is still usable after a failed preparation, and is read-only.
            let afterFailure = try lookup(writer.lookups, "x")
            #expect(afterFailure == nil)
            let write = #expect(throws: DatabaseError.self) {
                try writer.lookups.fetchOne("DELETE FROM t", bind: { _ in }, row: { $0.integer(0) })
            }
            #expect(write?.resultCode == .SQLITE_READONLY)
        }
    }
}
