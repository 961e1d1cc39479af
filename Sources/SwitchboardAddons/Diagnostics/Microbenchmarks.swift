import Crypto
import Foundation
import GRDB
import Logging
import PluginAPI
import SwitchboardCore

#if canImport(Glibc)
    import Glibc
#endif

/// Micro-benchmarks of the hot paths, run by `scripts/bench` from a release build. They measure; they
/// assert nothing (timings are never test assertions).
public enum Microbenchmarks {
    public struct Figure: Sendable {
        public var name: String
        public var value: Double
        public var unit: String
    }

    /// Runs every benchmark against a fresh database in `directory`.
    public static func run(directory: URL, scale: Int, bundledLibraries: URL) async throws -> [Figure] {
        var figures: [Figure] = []
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("bench.sqlite").path, durability: .normal,
            migrations: CoreSchema.migrations + AddonSchema.migrations)
        let writer = GroupCommitWriter(pool: pool)
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO accounts (id, webhook_secret, created_at, updated_at) VALUES ('acc_bench', 'x', 0, 0)"
            )
        }
        figures.append(try await groupCommit(writer: writer, count: 20 * scale, concurrency: 64))
        figures.append(try await groupCommit(writer: writer, count: 2 * scale, concurrency: 1))
        figures.append(try await ledgerRows(writer: writer, count: 50 * scale, accounts: 256))
        figures.append(try await ledgerRows(writer: writer, count: 50 * scale, accounts: 1))
        figures += mediation(count: 100 * scale)
        figures += try await dispatch(directory: directory, libraries: bundledLibraries, count: 20 * scale)
        figures += try await isolated(directory: directory, libraries: bundledLibraries, count: 10 * scale)
        figures += try await isolatedCheckWithoutSpinning(
            directory: directory, libraries: bundledLibraries, count: 10 * scale)
        return figures
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Inserts of one message row each, `concurrency` writers at a time, through the group-commit writer.
    static func groupCommit(writer: GroupCommitWriter, count: Int, concurrency: Int) async throws -> Figure {
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for index in stride(from: worker, to: count, by: concurrency) {
                        try await writer.write { db in
                            try db.execute(
                                sql: """
                                    INSERT INTO messages (id, account_id, direction, to_number, from_number, body, encoding,
                                        segments, status, created_at, updated_at)
                                    VALUES (?, 'acc_bench', 'outbound', '+37255512345', 'ACME', 'hello', 'GSM-7', 1, 'queued', 0, 0)
                                    """, arguments: ["msg_bench_\(concurrency)_\(index)"])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let rate = Double(count) / seconds(ContinuousClock.now - started)
        return Figure(name: "group-commit inserts/s (\(concurrency) concurrent writers)", value: rate, unit: "rows/s")
    }

    /// Ledger appends of the batches the outbox workers write (256 shares a transaction). With
    /// `accounts` 256 every share is about another account, so each is a row of its own (the cost of
    /// a row); with 1 they differ only in their event and make one row (a delivered batch's cost).
    static func ledgerRows(writer: GroupCommitWriter, count: Int, accounts: Int) async throws -> Figure {
        let batch = (0..<256).map { index in
            let view = AddonView(
                eventID: "evt_bench_\(index)", type: .messageStatus, accountID: "acc_bench_\(index % accounts)",
                timeMs: 0,
                fields: [
                    ViewField(id: "usage.to", value: .text("psn_0123456789abcdef"), treatment: .pseudonym),
                    ViewField(id: "usage.status", value: .text("delivered"), treatment: .clear),
                    ViewField(id: "usage.timestamp", value: .int(0), treatment: .clear),
                ])
            return Ledger.Share(addonID: "com.example.bench", addonVersion: "1.0.0", view: view, consentID: "cr_bench")
        }
        let started = ContinuousClock.now
        var written = 0
        while written < count {
            try await writer.write { db in try Ledger.append(db, batch, at: 0) }
            written += batch.count
        }
        let name =
            accounts == 1
            ? "ledger shares/s (batches of 256 events about one account: one row each)"
            : "ledger rows/s (batches of 256 shares, one row each)"
        return Figure(
            name: name, value: Double(written) / seconds(ContinuousClock.now - started),
            unit: accounts == 1 ? "shares/s" : "rows/s")
    }

    static func statusEvent(_ index: Int) -> DomainEvent {
        DomainEvent(
            id: "evt_\(index)", type: .messageStatus, accountID: "acc_bench", timeMs: 0,
            fields: [
                "usage.message_id": .text("msg_\(index)"), "usage.to": .text("+3725551\(index % 10000)"),
                "usage.from": .text("ACME"), "usage.status": .text("delivered"), "usage.segments": .int(1),
                "usage.timestamp": .int(0), "content.body": .text("Your code is 1234"),
            ])
    }

    static func manifest(fields: [Manifest.Field]) -> Manifest {
        Manifest(
            id: "com.example.bench", name: "Bench", vendor: "Bench", version: "1.0.0", description: "", abiMajor: 1,
            abiMinor: 0,
            libraryPath: "", librarySHA256: nil, hooks: [.messageStatus], fields: fields, syncTimeoutMs: 100,
            failureMode: .failClosed, isolation: .inProcess, config: [:], file: "bench.json")
    }

    /// Building one add-on's view of a message.status event, with and without a pseudonym.
    static func mediation(count: Int) -> [Figure] {
        let mediator = Mediator(pseudonyms: Pseudonymizer(master: SymmetricKey(size: .bits256)))
        let events = (0..<1000).map(statusEvent)
        var figures: [Figure] = []
        for pseudonym in [false, true] {
            let manifest = manifest(fields: [
                .init(id: "usage.to", category: .usage, purpose: "bench", required: true, pseudonym: pseudonym),
                .init(id: "usage.status", category: .usage, purpose: "bench", required: true, pseudonym: false),
                .init(id: "usage.timestamp", category: .usage, purpose: "bench", required: true, pseudonym: false),
            ])
            let grant = try! ConsentRecord(
                row: [
                    "rev": 1, "id": "cr_bench", "account_id": "acc_bench", "addon_id": manifest.id,
                    "addon_version": "1.0.0",
                    "action": "grant", "fields": #"["usage.status","usage.timestamp","usage.to"]"#, "at": 0,
                    "actor": "bench",
                    "terms": String(
                        decoding: try! JSONEncoder().encode(
                            ConsentTerms(manifest: manifest, granting: manifest.fields.map(\.id))), as: UTF8.self),
                ])
            var fieldsSeen = 0
            let started = ContinuousClock.now
            for index in 0..<count {
                fieldsSeen +=
                    mediator.view(of: events[index % events.count], for: manifest, grant: grant, contentMode: .store)
                    .fields.count
            }
            let nanos = seconds(ContinuousClock.now - started) * 1e9 / Double(count)
            precondition(fieldsSeen == count * 3)
            figures.append(
                Figure(
                    name: "mediation, one view" + (pseudonym ? " with a pseudonym" : " in the clear"), value: nanos,
                    unit: "ns/event"))
        }
        return figures
    }

    /// The pre-send check of the bundled C add-on (ComplianceScrub), called in-process: the bare C call
    /// on the add-on's queue, and the full async round trip with the time budget.
    static func dispatch(directory: URL, libraries: URL, count: Int) async throws -> [Figure] {
        let manifestFile = libraries.appendingPathComponent("bench-scrub.json")
        let manifest = Manifest(
            id: "com.switchboard.compliance-scrub", name: "Compliance Scrub", vendor: "Switchboard", version: "1.0.0",
            description: "", abiMajor: 1, abiMinor: 0, libraryPath: "libComplianceScrub.so", librarySHA256: nil,
            hooks: [.messageSubmit], fields: [], syncTimeoutMs: 1000, failureMode: .failClosed, isolation: .inProcess,
            config: [
                "suppression_list": "+15550000001", "quiet_hours": "+1=22-06@-300", "content_rules": "free money",
            ],
            file: manifestFile.path)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let library = try AddonLibrary.load(
            manifest: manifest, library: libraries.appendingPathComponent("libComplianceScrub.so"), requirePin: false,
            stateDirectory: directory.appendingPathComponent("scrub"), config: manifest.config, logger: logger,
            clock: SystemWallClock(), onEmit: { _ in true })
        let view = AddonView(
            eventID: "evt_bench", type: .messageSubmit, accountID: "acc_bench", timeMs: 0,
            fields: [
                ViewField(id: "usage.to", value: .text("+37255512345"), treatment: .clear),
                ViewField(id: "content.body", value: .text("Your code is 1234"), treatment: .clear),
            ])
        let bare: Double = library.queue.sync {
            let started = ContinuousClock.now
            for _ in 0..<count { _ = library.checkNow(view) }
            return seconds(ContinuousClock.now - started) * 1e9 / Double(count)
        }
        var latencies: [Double] = []
        latencies.reserveCapacity(count / 4)
        for _ in 0..<(count / 4) {
            let started = ContinuousClock.now
            _ = await library.check(view)
            latencies.append(seconds(ContinuousClock.now - started) * 1e6)
        }
        latencies.sort()
        return [
            Figure(name: "in-process check, C call incl. building the C event", value: bare, unit: "ns/call"),
            Figure(
                name: "in-process check round trip p50 (async, with time budget)",
                value: latencies[latencies.count / 2], unit: "µs"),
            Figure(name: "in-process check round trip p99", value: latencies[latencies.count * 99 / 100], unit: "µs"),
        ]
    }
}

extension Microbenchmarks {
    /// The same C add-on in its own runner: sync check round trips, pipelined async events/s, and the
    /// time from a runner crash to the daemon noticing it.
    public static func isolated(directory: URL, libraries: URL, count: Int) async throws -> [Figure] {
        let addon = try isolatedScrub(directory: directory, libraries: libraries, spinMicroseconds: 50)
        defer { addon.stop() }
        let latencies = await checkLatencies(addon, count: count)
        let inbound = AddonView(
            eventID: "evt_in", type: .messageInbound, accountID: "acc_bench", timeMs: 0,
            fields: [ViewField(id: "usage.from", value: .text("+37255512345"), treatment: .clear)])
        let batch = (0..<256).map {
            OutboxWorker.Work.event(seq: Int64($0), view: inbound, consentID: "cr")
        }
        let events = count * 50
        let started = ContinuousClock.now
        var delivered = 0
        while delivered < events { delivered += await addon.deliver(batch).codes.count }
        let perSecond = Double(delivered) / seconds(ContinuousClock.now - started)
        // Crash detection: kill the runner and time until the daemon has noticed. Four kills, each
        // once the runner is back: the backoff doubles (100, 200, 400, 800 ms) and a fifth failure
        // within the window would quarantine the add-on.
        var detections: [Double] = []
        var previous: Int32?
        for _ in 0..<4 {
            let deadline = ContinuousClock.now + .seconds(5)
            var pid: Int32?
            while ContinuousClock.now < deadline {
                _ = await addon.check(submitView)  // the first check after the backoff spawns a runner
                pid = addon.status().pid
                if let pid, pid != previous { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            guard let pid, pid != previous else { break }
            previous = pid
            let crashes = addon.status().crashes
            let killed = ContinuousClock.now
            kill(pid, SIGKILL)
            while addon.status().crashes == crashes { usleep(50) }
            detections.append(seconds(ContinuousClock.now - killed) * 1e3)
        }
        detections.sort()
        return [
            Figure(
                name: "isolated check round trip p50 (spin 50 µs)", value: latencies[latencies.count / 2], unit: "µs"),
            Figure(
                name: "isolated check round trip p99 (spin 50 µs)", value: latencies[latencies.count * 99 / 100],
                unit: "µs"),
            Figure(name: "isolated async events/s (batches of 256)", value: perSecond, unit: "events/s"),
            Figure(
                name: "runner crash to daemon noticing, median",
                value: detections.isEmpty ? 0 : detections[detections.count / 2], unit: "ms"),
        ]
    }
}

extension Microbenchmarks {
    /// The isolated check with `spin_us: 0`: both sides sleep until woken.
    static func isolatedCheckWithoutSpinning(directory: URL, libraries: URL, count: Int) async throws -> [Figure] {
        let addon = try isolatedScrub(directory: directory, libraries: libraries, spinMicroseconds: 0)
        defer { addon.stop() }
        let latencies = await checkLatencies(addon, count: count)
        return [
            Figure(name: "isolated check round trip p50 (spin 0)", value: latencies[latencies.count / 2], unit: "µs"),
            Figure(
                name: "isolated check round trip p99 (spin 0)", value: latencies[latencies.count * 99 / 100], unit: "µs"
            ),
        ]
    }

    static func isolatedScrub(directory: URL, libraries: URL, spinMicroseconds: Int) throws -> IsolatedAddon {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let manifest = Manifest(
            id: "com.switchboard.compliance-scrub", name: "Compliance Scrub", vendor: "Switchboard", version: "1.0.0",
            description: "", abiMajor: 1, abiMinor: 0, libraryPath: "libComplianceScrub.so", librarySHA256: nil,
            hooks: [.messageSubmit, .messageInbound], fields: [], syncTimeoutMs: 1000, failureMode: .failClosed,
            isolation: .isolated,
            config: ["suppression_list": "+15550000001"], file: libraries.appendingPathComponent("bench.json").path)
        var settings = IsolationSettings()
        settings.maxFailures = 1000
        settings.spinMicroseconds = spinMicroseconds
        return try IsolatedAddon(
            manifest: manifest, sha256: "", library: libraries.appendingPathComponent("libComplianceScrub.so"),
            stateDirectory: directory.appendingPathComponent("scrub-isolated-\(spinMicroseconds)"),
            config: manifest.config, settings: settings,
            runnerPath: libraries.appendingPathComponent("switchboard-addon-runner").path, logger: logger,
            clock: SystemWallClock(), onEmit: { _ in true })
    }

    static let submitView = AddonView(
        eventID: "evt_bench", type: .messageSubmit, accountID: "acc_bench", timeMs: 0,
        fields: [ViewField(id: "usage.to", value: .text("+37255512345"), treatment: .clear)])

    /// Sequential check round trips of `submitView`, µs, sorted.
    static func checkLatencies(_ addon: IsolatedAddon, count: Int) async -> [Double] {
        var latencies: [Double] = []
        for _ in 0..<count {
            let started = ContinuousClock.now
            _ = await addon.check(submitView)
            latencies.append(seconds(ContinuousClock.now - started) * 1e6)
        }
        return latencies.sorted()
    }
}
