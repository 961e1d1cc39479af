import Foundation
import GRDB
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Synchronization
import Testing

/// The add-on event log: each event written once, read by every add-on through its own cursor,
/// pruned when all have passed it; delivered at least once and in order across restarts and
/// runner crashes; a withdrawal reaches the events already written.
@Suite struct EventLogTests {
    static let recorder = "com.example.recorder"
    static let other = "com.example.other"

    static func refuse(_ dataDir: URL, _ addonID: String, _ on: Bool) throws {
        let path = dataDir.appendingPathComponent("addons/\(addonID)/refuse").path
        if on {
            _ = FileManager.default.createFile(atPath: path, contents: Data())
        } else {
            try FileManager.default.removeItem(atPath: path)
        }
    }

    static func logRows(_ daemon: TestDaemon) async throws -> Int {
        try await daemon.daemon.addons.writer.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM addon_log") ?? 0
        }
    }

    /// The ids of the events waiting in the log for `addonID`, in log order.
    static func waiting(_ daemon: TestDaemon, for addonID: String) async throws -> [String] {
        try await daemon.daemon.addons.writer.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT payload FROM addon_log WHERE kind = 'event' AND instr(recipients, ?) > 0 ORDER BY seq",
                arguments: [",\(addonID),"]
            ).map { try DomainEvent(stored: $0["payload"]).id }
        }
    }

    @Test func eachEventIsOneRowThatGoesOnceEveryAddonHasPassedIt() async throws {
        let directory = AddonPlatformTests.addonsDirectory()
        for id in [Self.recorder, Self.other] {
            try await AddonFixture.recorder(
                in: directory, id: id, fields: [("usage.to", true, true)], hooks: ["message.status"])
        }
        try await withDaemon(configure: { $0.addons.directories = [directory.path] }) { daemon in
            let (_, client) = try await daemon.signUp()
            for addon in ["recorder", "other"] {
                _ = try await client.put("/v1/account/addons/\(addon)", json: ["fields": ["usage.to"]])
            }
            try Self.refuse(daemon.directory, Self.recorder, true)
            try Self.refuse(daemon.directory, Self.other, true)
            for index in 0..<3 { _ = try await client.send(body: "held \(index)") }
            // Both add-ons wait for the same events, and each event is one row, not one per add-on.
            #expect(
                try await eventually {
                    let backlog = try await daemon.daemon.addons.backlog()
                    return backlog[Self.recorder] ?? 0 >= 6 && backlog[Self.recorder] == backlog[Self.other]
                })
            let held = try await daemon.daemon.addons.backlog()[Self.recorder] ?? 0
            #expect(try await Self.logRows(daemon) == held)

            // One add-on catches up; the rows stay for the other.
            try Self.refuse(daemon.directory, Self.recorder, false)
            #expect(try await eventually(seconds: 30) { try await daemon.daemon.addons.backlog()[Self.recorder] == 0 })
            #expect(try await Self.logRows(daemon) >= held)
            #expect(try await daemon.daemon.addons.backlog()[Self.other] ?? 0 >= held)
            // Each event counts once as delivered, however often the add-on asked for it again.
            let delivered = try await daemon.client.get("/metrics").text.split(separator: "\n")
                .first { $0.hasPrefix("switchboard_addon_events_delivered_total{addon=\"\(Self.recorder)\"}") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
            #expect(delivered == Double(held))

            // The other catches up too: every row is pruned.
            try Self.refuse(daemon.directory, Self.other, false)
            #expect(try await eventually(seconds: 30) { try await Self.logRows(daemon) == 0 })
            for id in [Self.recorder, Self.other] {
                let events = AddonFixture.recorded(dataDir: daemon.directory, addonID: id).filter { $0.what == "event" }
                #expect(events.count >= held)
            }
        }
    }

    @Test(arguments: ["in_process", "isolated"])
    func deliveryFollowsTheLogAcrossARestartAndARunnerCrash(isolation: String) async throws {
        let addons = try await AddonFixture.recorder(
            in: AddonPlatformTests.addonsDirectory(), fields: [("usage.to", true, false)], hooks: ["message.status"],
            isolation: isolation)
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("sb-log-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let configure: (inout ServeConfiguration) -> Void = { $0.addons.directories = [addons.path] }
        let first = try await TestDaemon.start(directory: dataDir, configure: configure)
        let (_, client) = try await first.signUp()
        _ = try await client.put("/v1/account/addons/recorder", json: ["fields": ["usage.to"]])
        try Self.refuse(dataDir, Self.recorder, true)
        for index in 0..<8 { _ = try await client.send(to: "+3725551000\(index)", body: "ordered \(index)") }
        #expect(try await eventually { try await outboxCount(first) >= 16 })
        await first.stop(removeData: false)

        let second = try await TestDaemon.start(directory: dataDir, configure: configure)
        let expected = try await Self.waiting(second, for: Self.recorder)
        try Self.refuse(dataDir, Self.recorder, false)
        if isolation == "isolated" {
            // The runner dies while the backlog is being delivered; its replacement carries on.
            #expect(
                try await eventually(seconds: 30) {
                    !AddonFixture.recorded(dataDir: dataDir, addonID: Self.recorder).isEmpty
                })
            let pid = try #require(second.daemon.addons.registry.runtimeStatus(Self.recorder)?.pid)
            kill(pid_t(pid), SIGKILL)
        }
        #expect(try await eventually(seconds: 30) { try await outboxCount(second) == 0 })
        // At least once, and in the log's order (a crash may repeat the tail it had not acknowledged).
        var seen: Set<String> = []
        let received = AddonFixture.recorded(dataDir: dataDir, addonID: Self.recorder)
            .filter { $0.what == "event" }.map(\.eventID).filter { seen.insert($0).inserted }
        #expect(received == expected)
        await second.stop(removeData: false)
    }

    @Test func eventsWrittenBeforeAWithdrawalNeverArriveAfterAGrantAgain() async throws {
        let addons = try await AddonFixture.recorder(
            in: AddonPlatformTests.addonsDirectory(), fields: [("usage.to", true, false)], hooks: ["message.status"])
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["fields": ["usage.to"]])
            try Self.refuse(daemon.directory, Self.recorder, true)
            _ = try await client.send(to: "+37255520001", body: "before")
            #expect(try await eventually { try await outboxCount(daemon) > 0 })
            #expect(try await client.delete("/v1/account/addons/recorder").status == 200)
            #expect(try await outboxCount(daemon) == 0)
            _ = try await client.put("/v1/account/addons/recorder", json: ["fields": ["usage.to"]])
            try Self.refuse(daemon.directory, Self.recorder, false)
            _ = try await client.send(to: "+37255520002", body: "after")
            #expect(
                try await eventually(seconds: 30) {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.recorder)
                        .contains { $0.fields["usage.to"] == "text:+37255520002" }
                })
            #expect(try await eventually { try await Self.logRows(daemon) == 0 })
            let numbers = Set(
                AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.recorder).compactMap {
                    $0.fields["usage.to"]
                })
            #expect(numbers == ["text:+37255520002"])
        }
    }

    /// An `end_batch` that fails takes back the whole batch: the cursor stays, the views the add-on
    /// saw are in the ledger, and the batch comes again until `end_batch` succeeds.
    @Test(arguments: ["in_process", "isolated"])
    func aFailedEndOfBatchDeliversTheBatchAgain(isolation: String) async throws {
        let addons = try await AddonFixture.recorder(
            in: AddonPlatformTests.addonsDirectory(), fields: [("usage.to", true, false)], hooks: ["message.status"],
            defines: ["WITH_END_BATCH"], isolation: isolation)
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["fields": ["usage.to"]])
            let refuse = daemon.directory.appendingPathComponent("addons/\(Self.recorder)/refuse_batch").path
            _ = FileManager.default.createFile(atPath: refuse, contents: Data())
            for index in 0..<3 { _ = try await client.send(body: "batch \(index)") }
            func events() -> [AddonFixture.Recorded] {
                AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.recorder).filter { $0.what == "event" }
            }
            // Delivered, but not taken: the events stay owed.
            #expect(try await eventually { events().count >= 6 })
            #expect(try await outboxCount(daemon) > 0)
            #expect(
                !AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.recorder).contains {
                    $0.what == "batch"
                })
            let seen = Set(events().map(\.eventID))
            #expect(
                try await eventually {
                    let shares = try await client.get("/v1/account/addons/recorder/shares?limit=1000")
                    return seen.isSubset(of: Set(shares.data.compactMap { $0["event_id"] as? String }))
                })

            try FileManager.default.removeItem(atPath: refuse)
            #expect(try await eventually(seconds: 30) { try await outboxCount(daemon) == 0 })
            #expect(
                AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.recorder).contains { $0.what == "batch" }
            )
            // Every event seen before the failure came again.
            let counts = Dictionary(events().map { ($0.eventID, 1) }, uniquingKeysWith: +)
            #expect(seen.allSatisfy { counts[$0, default: 0] >= 2 })
        }
    }

    /// A database from before the log keeps every waiting outbox row, in order, for its add-on.
    @Test func waitingOutboxRowsMoveIntoTheLogInOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-v16-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("db.sqlite").path
        let event = DomainEvent(
            id: "evt_1", type: .messageStatus, accountID: "acc_x", timeMs: 1, fields: ["usage.status": .text("sent")])
        do {
            let old = try SwitchboardDatabase.open(
                at: path, durability: .normal,
                migrations: Array(DaemonSchema.migrations.prefix { $0.identifier != "v16-event-log-with-cursors" }))
            try old.write { db in
                for (addon, account, payload, kind) in [
                    ("com.a", "acc_x", event.stored, "event"), ("com.b", "acc_x", event.stored, "event"),
                    ("com.a", "acc_y", Data("{}".utf8), "erase"),
                ] {
                    try db.execute(
                        sql: "INSERT INTO addon_outbox (addon_id, account_id, event, kind) VALUES (?, ?, ?, ?)",
                        arguments: [addon, account, payload, kind])
                }
            }
        }
        let pool = try SwitchboardDatabase.open(at: path, durability: .normal, migrations: DaemonSchema.migrations)
        let (rows, outboxLeft, backlog) = try pool.read { db in
            (
                try Row.fetchAll(db, sql: "SELECT account_id, kind, recipients, payload FROM addon_log ORDER BY seq"),
                try db.tableExists("addon_outbox"),
                try EventLog.backlog(db, addonIDs: ["com.a", "com.b", "com.c"])
            )
        }
        #expect(!outboxLeft)
        #expect(rows.map { $0["recipients"] as String } == [",com.a,", ",com.b,", ",com.a,"])
        #expect(rows.map { $0["kind"] as String } == ["event", "event", "erase"])
        #expect(try DomainEvent(stored: rows[1]["payload"]) == event)
        #expect(backlog == ["com.a": 2, "com.b": 1, "com.c": 0])
    }
}

/// The newest log rows in memory: only an unbroken run of `seq`s is ever handed out.
@Suite struct RecentLogTests {
    static func row(_ seq: Int64, _ account: String = "acc_a", recipients: String = ",com.a,com.b,") -> RecentLog.Row {
        RecentLog.Row(
            entry: EventLog.Entry(seq: seq, accountID: account, kind: .event, recipients: recipients, payload: Data()))
    }

    @Test func aWorkerGetsRowsOnlyFromAnUnbrokenRunThatCoversItsCursor() {
        let log = RecentLog()
        #expect(log.read(after: 0, limit: 10) == nil)
        for seq in Int64(5)...8 { log.append(Self.row(seq)) }
        #expect(log.read(after: 4, limit: 10)?.map(\.entry.seq) == [5, 6, 7, 8])
        #expect(log.read(after: 6, limit: 1)?.map(\.entry.seq) == [7])
        // Behind the run (rows 1-4 only in the table), or nothing newer: the table answers.
        #expect(log.read(after: 3, limit: 10) == nil)
        #expect(log.read(after: 8, limit: 10) == nil)
        // A row that does not follow (9 was written by another process) starts the run afresh.
        log.append(Self.row(10))
        #expect(log.read(after: 8, limit: 10) == nil)
        #expect(log.read(after: 9, limit: 10)?.map(\.entry.seq) == [10])
    }

    @Test func withdrawalsErasuresAndTrimmingReachTheRowsHeld() {
        let log = RecentLog(capacity: 4)
        log.append(Self.row(1, "acc_a"))
        log.append(Self.row(2, "acc_b"))
        log.withdraw(addonID: "com.a", accountID: "acc_a")
        #expect(log.read(after: 0, limit: 10)?.map(\.entry.recipients) == [",com.b,", ",com.a,com.b,"])
        log.forget(accountID: "acc_b")
        #expect(
            log.read(after: 0, limit: 10)?.map { $0.entry.names("com.a") || $0.entry.names("com.b") } == [true, false])
        for seq in Int64(3)...5 { log.append(Self.row(seq)) }
        // Past capacity (4), it keeps the newest half: a cursor behind that reads the table.
        #expect(log.read(after: 2, limit: 10) == nil)
        #expect(log.read(after: 3, limit: 10)?.map(\.entry.seq) == [4, 5])
        log.clear()
        #expect(log.read(after: 3, limit: 10) == nil)
    }

    /// A hook registered by a request that rolls back never runs, so a row SQLite then gives the
    /// same `seq` to another request cannot be shadowed by the rolled-back one.
    @Test func requestCommitHooksRunOnlyForRequestsThatCommitted() async throws {
        let directory = try Self.scratchDirectory("sb-hooks-")
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = try Self.writer(in: directory)
        final class Calls: Sendable {
            let names = Mutex<[String]>([])
            func add(_ name: String) { names.withLock { $0.append(name) } }
        }
        let ran = Calls()
        struct Refused: Error {}
        #expect(writer.afterRequestCommit { ran.add("outside") } == false)
        // Two requests in flight at once, so that they can share one batch (one transaction).
        let failed = Task {
            try await writer.write { _ in
                #expect(writer.afterRequestCommit { ran.add("rolled back") })
                throw Refused()
            }
        }
        let committed = Task {
            try await writer.write { _ in
                #expect(writer.afterRequestCommit { ran.add("committed") })
            }
        }
        await #expect(throws: Refused.self) { try await failed.value }
        try await committed.value
        #expect(ran.names.withLock { $0 } == ["committed"])
    }

    /// The hook add-on wake-ups use: it runs when the batch ends whether its request committed or
    /// rolled back to its savepoint, before the request's caller resumes, and never outside a request.
    @Test func batchHooksRunWhenTheBatchEndsAlsoForARequestThatRolledBack() async throws {
        let directory = try Self.scratchDirectory("sb-batch-")
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = try Self.writer(in: directory)
        let ran = Mutex<[String]>([])
        struct Refused: Error {}
        #expect(writer.afterBatch { ran.withLock { $0.append("outside") } } == false)
        await #expect(throws: Refused.self) {
            try await writer.write { _ in
                #expect(writer.afterBatch { ran.withLock { $0.append("rolled back") } })
                throw Refused()
            }
        }
        #expect(ran.withLock { $0 } == ["rolled back"])
        try await writer.write { _ in
            #expect(writer.afterBatch { ran.withLock { $0.append("committed") } })
        }
        #expect(ran.withLock { $0 } == ["rolled back", "committed"])
    }

    private static func scratchDirectory(_ prefix: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(prefix + UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// A writer on a new database file in `directory`, with the daemon's whole schema.
    private static func writer(in directory: URL) throws -> GroupCommitWriter {
        GroupCommitWriter(
            pool: try SwitchboardDatabase.open(
                at: directory.appendingPathComponent("db.sqlite").path, durability: .normal,
                migrations: DaemonSchema.migrations))
    }
}
