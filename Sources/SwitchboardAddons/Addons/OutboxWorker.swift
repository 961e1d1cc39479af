import Foundation
import GRDB
import Logging
import PluginAPI
import SwitchboardCore

/// Delivers one add-on's outbox in order: at least once, in sequence (so in order per account),
/// a bounded batch in memory at a time. Rows leave the outbox only in the transaction that records
/// their delivery (or erasure acknowledgement) in the ledger.
package struct OutboxWorker: Sendable {
    let platform: AddonPlatform
    let addonID: String
    let wake: BatchQueue<Void>
    static let batchSize = 256
    static let linger = Duration.milliseconds(25)

    /// One outbox row, ready to hand to the add-on.
    package enum Work: Sendable {
        case event(seq: Int64, attempts: Int, view: AddonView, consentID: String)
        case erase(seq: Int64, attempts: Int, accountID: String, order: ErasureOrder, pseudonym: String?)

        var seq: Int64 {
            switch self {
            case .event(let seq, _, _, _), .erase(let seq, _, _, _, _): seq
            }
        }

        var attempts: Int {
            switch self {
            case .event(_, let attempts, _, _), .erase(_, let attempts, _, _, _): attempts
            }
        }
    }

    func run() async {
        while !Task.isCancelled {
            let delivered: Int
            do {
                delivered = try await deliverBatch()
            } catch is CancellationError {
                return
            } catch {
                platform.logger.error(
                    "outbox delivery failed", metadata: ["addon.id": "\(addonID)", "error": "\(error)"])
                delivered = 0
            }
            if delivered < Self.batchSize {
                if delivered == 0 {
                    // Woken by new work or, at the latest, when a backoff may have passed.
                    await wake.wait(timeout: .milliseconds(250))
                }
                // Lets a few milliseconds of events gather before the next read: each batch costs a
                // read, a delivery, a ledger append and a delete, whatever its size, and under load
                // batches of a handful of events spent more on that than on the events.
                try? await Task.sleep(for: Self.linger)
                wake.drain()
            }
        }
    }

    /// Returns how many rows it took off the outbox. The batch is built, delivered and recorded by
    /// one version of the add-on, so a reload in between neither drops nor repeats it.
    func deliverBatch() async throws -> Int {
        try await platform.registry.withAddon(addonID) { manifest, endpoint in
            try await deliverBatch(manifest: manifest, endpoint: endpoint)
        } ?? 0
    }

    private func deliverBatch(manifest: Manifest, endpoint: any AddonEndpoint) async throws -> Int {
        let now = platform.clock.now().epochMillis
        let rows = try await platform.writer.pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT seq, account_id, kind, event, attempts, next_attempt_at FROM addon_outbox
                        WHERE addon_id = ? ORDER BY seq LIMIT ?
                        """), arguments: [addonID, Self.batchSize]
            ).map { row in
                (
                    seq: row["seq"] as Int64, accountID: row["account_id"] as String,
                    kind: OutboxKind(rawValue: row["kind"] as String),
                    payload: row["event"] as Data, attempts: row["attempts"] as Int,
                    due: row["next_attempt_at"] as Int64
                )
            }
        }
        // The head of the queue waits out its backoff, and everything behind it waits too, to keep order.
        guard let head = rows.first, head.due <= now else { return 0 }
        let modes = try await platform.contentModes(rows.map(\.accountID))
        var work: [Work] = []
        var skipped: [Int64] = []
        for row in rows {
            guard let kind = row.kind else {
                skipped.append(row.seq)  // A kind this version does not know is never guessed at.
                continue
            }
            if kind == .erase {
                guard var order = try? JSONDecoder().decode(ErasureOrder.self, from: row.payload) else {
                    skipped.append(row.seq)
                    continue
                }
                if order.pseudonym == nil, let value = order.value {
                    // An order written before the form was decided per add-on: decide it now.
                    let numbers = try await platform.writer.pool.read { db in
                        try Recipients.of(db, accountID: row.accountID, numbersOnly: true)
                    }.first { $0.addonID == addonID }?.numbers
                    order.pseudonym = platform.mediator.pseudonyms.token(
                        value, addonID: addonID, accountID: row.accountID)
                    if numbers != .clear { order.value = nil }
                }
                let pseudonym = order.pseudonym
                work.append(
                    .erase(
                        seq: row.seq, attempts: row.attempts, accountID: row.accountID, order: order,
                        pseudonym: pseudonym))
                continue
            }
            guard let event = try? DomainEvent(stored: row.payload),
                let grant = platform.consents.current(accountID: row.accountID, addonID: addonID)
            else {
                skipped.append(row.seq)  // Unreadable, or consent withdrawn since queuing: never delivered.
                continue
            }
            let view = platform.mediator.view(
                of: event, for: manifest, grant: grant, contentMode: modes[row.accountID] ?? .store)
            // An event with none of the granted fields would still tell the add-on that something
            // happened, and when: that is not what the customer granted.
            guard !view.fields.isEmpty else {
                skipped.append(row.seq)
                continue
            }
            work.append(.event(seq: row.seq, attempts: row.attempts, view: view, consentID: grant.id))
        }
        let codes = await endpoint.deliver(work)
        return try await record(work: work, codes: codes, skipped: skipped, version: manifest.version)
    }

    /// The rows to take off the outbox: the batch was this add-on's rows in `seq` order (later rows
    /// always get higher `seq`s), so the done rows from its head are one range, deleted with one
    /// cached statement; the rest (skipped rows behind a retried one) go one by one.
    package static func deletions(batch: [Int64], done: [Int64]) -> (prefix: ClosedRange<Int64>?, stragglers: [Int64]) {
        let ordered = batch.sorted()
        let done = Set(done)
        var end = 0
        while end < ordered.count, done.contains(ordered[end]) { end += 1 }
        let prefix = end > 0 ? ordered[0]...ordered[end - 1] : nil
        return (prefix, ordered[end...].filter { done.contains($0) })
    }

    private func record(work: [Work], codes: [Int32], skipped: [Int64], version: String) async throws -> Int {
        var shares: [Ledger.Share] = []
        var done = skipped
        var retry: (seq: Int64, attempts: Int, requestID: String?)?
        var erasures: [(requestID: String, state: ErasureStatus.TaskState, detail: String?)] = []
        for (item, code) in zip(work, codes) {
            if code == SB_RETRY {
                switch item {
                case .erase(_, _, _, let order, _):
                    retry = (item.seq, item.attempts + 1, order.requestID)
                case .event(_, _, let view, let consentID):
                    retry = (item.seq, item.attempts + 1, nil)
                    // The add-on saw the view even though it asked for it again later.
                    shares.append(
                        Ledger.Share(addonID: addonID, addonVersion: version, view: view, consentID: consentID))
                }
                continue
            }
            done.append(item.seq)
            switch item {
            case .event(_, _, let view, let consentID):
                if code != SB_OK {
                    platform.logger.warning(
                        "add-on refused an event",
                        metadata: ["addon.id": "\(addonID)", "event.id": "\(view.eventID)", "code": "\(code)"])
                    platform.counters.eventErrors(addonID).increment()
                }
                // The view crossed the line whatever the add-on answered.
                shares.append(Ledger.Share(addonID: addonID, addonVersion: version, view: view, consentID: consentID))
            case .erase(_, _, let accountID, let order, _):
                if code == SB_OK {
                    shares.append(
                        Ledger.Share(
                            erasureReceiptFrom: addonID, addonVersion: version, accountID: accountID,
                            requestID: order.requestID,
                            subjectKind: order.subjectKind))
                    erasures.append((order.requestID, .done, nil))
                } else {
                    erasures.append(
                        (order.requestID, .failed, "the add-on answered \(code): it cannot erase this subject"))
                }
            }
        }
        platform.counters.eventsDelivered(addonID).increment(by: Int64(shares.count))
        let finished = done
        let (prefix, stragglers) = Self.deletions(batch: work.map(\.seq) + skipped, done: done)
        let addonID = self.addonID
        let recorded = shares
        let retryRow = retry
        let erasureUpdates = erasures
        let at = platform.clock.now().epochMillis
        try await platform.writer.write { db in
            try Ledger.append(db, recorded, at: at)
            if let prefix {
                try db.cachedStatement(
                    sql: "DELETE FROM addon_outbox WHERE addon_id = ? AND seq BETWEEN ? AND ?"
                ).execute(arguments: [addonID, prefix.lowerBound, prefix.upperBound])
            }
            for seq in stragglers {
                try db.cachedStatement(sql: "DELETE FROM addon_outbox WHERE seq = ?").execute(arguments: [seq])
            }
            for update in erasureUpdates {
                try db.cachedStatement(
                    sql: """
                        UPDATE erasure_tasks SET state = ?, detail = ?, attempts = attempts + 1, updated_at = ?
                        WHERE request_id = ? AND addon_id = ?
                        """
                ).execute(arguments: [update.state.rawValue, update.detail, at, update.requestID, addonID])
                try ErasureRequests.settle(db, requestID: update.requestID)
            }
            if let retryRow {
                let backoff = min(Int64(100) << Int64(min(retryRow.attempts, 12)), 300_000)
                try db.cachedStatement(sql: "UPDATE addon_outbox SET attempts = ?, next_attempt_at = ? WHERE seq = ?")
                    .execute(arguments: [retryRow.attempts, at + backoff, retryRow.seq])
                if let requestID = retryRow.requestID {
                    try db.cachedStatement(
                        sql: """
                            UPDATE erasure_tasks SET attempts = ?, detail = 'the add-on asked to be asked again later', updated_at = ?
                            WHERE request_id = ? AND addon_id = ?
                            """
                    ).execute(arguments: [retryRow.attempts, at, requestID, addonID])
                }
            }
        }
        return finished.count
    }
}
