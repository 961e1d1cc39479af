import Foundation
import GRDB
import Testing

@testable import Host

@Suite struct GroupCommitWriterTests {
    @Test func concurrentWritesCommitTogetherAndAFailureStaysAlone() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("db.sqlite").path, durability: .full)
        let writer = GroupCommitWriter(pool: pool)
        try await writer.write { db in try db.execute(sql: "CREATE TABLE t (v INTEGER UNIQUE)") }
        let results = await withTaskGroup(of: Bool.self) { group in
            for value in 0..<200 {
                group.addTask {
                    do {
                        // Value 100 is written twice: exactly one of the two must fail.
                        try await writer.write { db in
                            try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [value == 150 ? 100 : value])
                        }
                        return true
                    } catch { return false }
                }
            }
            var results: [Bool] = []
            for await result in group { results.append(result) }
            return results
        }
        #expect(results.filter { !$0 }.count == 1)
        let count = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") }
        #expect(count == 199)
        let synchronous = try await pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 2)
    }
}

@Suite struct ConfigurationTests {
    @Test func unknownAndInvalidSettingsAreAllNamed() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sb-config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(
            #"{"port": 70000, "durability": "paranoid", "rate_limits": {"send_burst": 0, "sendPerSecond": 1}}"#.utf8
        ).write(to: url)
        do {
            _ = try ServeConfiguration.load(file: url.path)
            Issue.record("expected an error")
        } catch let error as ConfigurationError {
            #expect(
                Set(error.problems.map(\.field)) == [
                    "port", "durability", "rate_limits.send_burst", "rate_limits.sendPerSecond",
                ])
            #expect(error.description.contains("must be one of normal, full"))
        }
    }

    @Test func environmentOverridesTheFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sb-config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(
            #"{"port": 9000, "retention_days": 30, "durability": "full", "operator_token": "file-token-0123456789"}"#
                .utf8
        ).write(to: url)
        var config = try ServeConfiguration.load(file: url.path)
        #expect(config.port == 9000 && config.retentionDays == 30 && config.durability == .full)
        try config.applyEnvironment([
            "SWITCHBOARD_PORT": "9100", "SWITCHBOARD_OPERATOR_TOKEN": "env-token-0123456789abc",
        ])
        #expect(config.port == 9100)
        #expect(config.operatorToken == "env-token-0123456789abc")
        #expect(throws: ConfigurationError.self) { try config.applyEnvironment(["SWITCHBOARD_PORT": "many"]) }
    }
}

@Suite struct PasswordTests {
    @Test func policy() {
        let policy = PasswordPolicy()
        #expect(policy.problem(with: "plum-harbor-violet-42", email: "a@example.com") == nil)
        #expect(policy.problem(with: "short", email: nil) != nil)
        #expect(policy.problem(with: "qwerty123456", email: nil) != nil)
        #expect(policy.problem(with: "aaaaaaaaaaaaaaa", email: nil) != nil)
        #expect(policy.problem(with: "lovelace-analytical", email: "lovelace@example.com") != nil)
    }

    @Test func scryptRoundTrip() throws {
        let hasher = PasswordHasher(costLog2: 10)
        let stored = try hasher.hash("plum-harbor-violet-42")
        #expect(hasher.verify("plum-harbor-violet-42", against: stored))
        #expect(!hasher.verify("plum-harbor-violet-43", against: stored))
        #expect(try hasher.hash("plum-harbor-violet-42") != stored)
    }
}

/// The hand-written encodings agree with Foundation's on every length.
@Suite struct EncodingTests {
    @Test func base64URLAndHexMatchFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let foundation = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(bytes.base64URLEncoded() == foundation)
            #expect(bytes.hexString == bytes.map { String(format: "%02x", $0) }.joined())
        }
        #expect(Identifier.make("msg").count == 4 + 16)
        let event = DomainEvent(
            type: .messageStatus, accountID: "acc_1", timeMs: 1_700_000_000_123,
            fields: [
                "usage.to": .text("+37255512345"), "usage.segments": .int(-3), "content.body": .text("héllo\u{1F}"),
            ])
        #expect(try DomainEvent(stored: event.stored) == event)
        // Outbox rows queued by a version that stored JSON are still delivered.
        #expect(try DomainEvent(stored: JSONEncoder().encode(event)) == event)
        #expect(throws: (any Error).self) { try DomainEvent(stored: Data([1, 0, 0])) }
        #expect(Identifier.randomToken(bytes: 32).count == 43)
    }

    /// Message ids sort as their creation times do (the id index is appended to, not scattered),
    /// and two ids made in the same millisecond still differ.
    @Test func orderedIdentifiersSortByTime() {
        let times: [Int64] = [0, 1, 255, 256, 65_535, 1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000]
        let ids = times.map { Identifier.makeOrdered("msg", at: $0) }
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { $0.hasPrefix("msg_") && $0.count == 4 + 20 })
        let sameTime = (0..<1000).map { _ in Identifier.makeOrdered("msg", at: 1_700_000_000_000) }
        #expect(Set(sameTime).count == 1000)
        #expect(Identifier.sortableAlphabet == Identifier.sortableAlphabet.sorted())
        #expect(Set(Identifier.sortableAlphabet).count == 64)
    }
}
