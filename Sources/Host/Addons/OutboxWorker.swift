import Foundation
import GRDB
import Logging
import PluginAPI

/// Delivers one add-on's outbox in order: at least once, in sequence (so in order per account),
/// a bounded batch in memory at a time. Rows leave the outbox only in the transaction that records
/// their delivery in the ledger.
struct OutboxWorker: Sendable {
    let platform: AddonPlatform
    let manifest: Manifest
    let library: AddonLibrary
    let wake: BatchQueue<Void>
    static let batchSize = 256

    struct Row: Sendable {
        var seq: Int64
        var event: DomainEvent
        var attempts: Int
    }

    func run() async {
        while !Task.isCancelled {
            let delivered: Int
            do {
                delivered = try await deliverBatch()
            } catch {
                platform.logger.error(
                    "outbox delivery failed", metadata: ["addon.id": "\(manifest.id)", "error": "\(error)"])
                delivered = 0
            }
            if delivered == 0 {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { _ = await wake.next() }
                    group.addTask { try? await Task.sleep(for: .milliseconds(250)) }
                    await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    /// Returns how many rows it took off the outbox.
    func deliverBatch() async throws -> Int {
        let now = platform.clock.now().epochMillis
        let addonID = manifest.id
        let rows = try await platform.writer.pool.read { db in
            try GRDB.Row.fetchAll(
                db,
                sql:
                    "SELECT seq, event, attempts, next_attempt_at FROM addon_outbox WHERE addon_id = ? ORDER BY seq LIMIT ?",
                arguments: [addonID, Self.batchSize]
            ).compactMap { row -> Row? in
                // The head of the queue waits out its backoff; everything behind it waits too, to keep order.
                let data: Data = row["event"]
                guard let event = try? JSONDecoder().decode(DomainEvent.self, from: data) else { return nil }
                return Row(seq: row["seq"], event: event, attempts: row["attempts"])
            }
        }
        guard let head = rows.first else { return 0 }
        if let due = try await nextAttempt(seq: head.seq), due > now { return 0 }
        let modes = try await platform.contentModes(rows.map(\.event.accountID))
        var shares: [Ledger.Share] = []
        var done: [Int64] = []
        var retry: (seq: Int64, attempts: Int)?
        var views: [(Row, AddonView, ConsentRecord)] = []
        for row in rows {
            guard let grant = platform.consents.current(accountID: row.event.accountID, addonID: addonID) else {
                done.append(row.seq)  // Consent withdrawn since queuing: never delivered.
                continue
            }
            let view = platform.mediator.view(
                of: row.event, for: manifest, grant: grant, contentMode: modes[row.event.accountID] ?? .store)
            // An event with none of the granted fields would still tell the add-on that something
            // happened, and when: that is not what the customer granted.
            guard !view.fields.isEmpty else {
                done.append(row.seq)
                continue
            }
            views.append((row, view, grant))
        }
        let library = self.library
        let prepared = views.map(\.1)
        let outcomes: [Int32] = await withCheckedContinuation { continuation in
            library.queue.async {
                var codes: [Int32] = []
                for view in prepared {
                    let code = library.deliver(view)
                    codes.append(code)
                    if code == SB_RETRY { break }
                }
                continuation.resume(returning: codes)
            }
        }
        for (index, code) in outcomes.enumerated() {
            let (row, view, grant) = views[index]
            switch code {
            case SB_RETRY:
                retry = (row.seq, row.attempts + 1)
            default:
                if code != SB_OK {
                    platform.logger.warning(
                        "add-on refused an event",
                        metadata: ["addon.id": "\(addonID)", "event.id": "\(row.event.id)", "code": "\(code)"])
                    platform.counters.eventErrors(addonID).increment()
                }
                shares.append(
                    Ledger.Share(addonID: addonID, addonVersion: manifest.version, view: view, consentID: grant.id))
                done.append(row.seq)
            }
        }
        platform.counters.eventsDelivered(addonID).increment(by: Int64(shares.count))
        let finished = done
        let recorded = shares
        let retryRow = retry
        let at = platform.clock.now().epochMillis
        try await platform.writer.write { db in
            try Ledger.append(db, recorded, at: at)
            if !finished.isEmpty {
                try db.execute(
                    sql: "DELETE FROM addon_outbox WHERE seq IN (\(databaseQuestionMarks(count: finished.count)))",
                    arguments: StatementArguments(finished))
            }
            if let retryRow {
                let backoff = min(Int64(100) << Int64(min(retryRow.attempts, 12)), 300_000)
                try db.execute(
                    sql: "UPDATE addon_outbox SET attempts = ?, next_attempt_at = ? WHERE seq = ?",
                    arguments: [retryRow.attempts, at + backoff, retryRow.seq])
            }
        }
        return finished.count
    }

    private func nextAttempt(seq: Int64) async throws -> Int64? {
        try await platform.writer.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT next_attempt_at FROM addon_outbox WHERE seq = ?", arguments: [seq])
        }
    }
}
