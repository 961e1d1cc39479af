import Foundation
import GRDB
import Logging
import PluginAPI
import SwitchboardCore
import Synchronization

/// Delivers the event log to one add-on in order: at least once, in sequence (so in order per
/// account), a bounded batch in memory at a time. Its cursor moves past rows only in the
/// transaction that records their delivery (or erasure acknowledgement) in the ledger.
package final class OutboxWorker: Sendable {
    let platform: AddonPlatform
    let addonID: String
    let wake: BatchQueue<Void>
    /// Every add-on with a worker, and the statement that prunes the rows they have all passed.
    let consumers: [String]
    let pruneSQL: String
    /// The cursor as this worker last stored it: it alone moves it, so it is read from the table
    /// only at start and after a failed write.
    let knownCursor = Mutex<EventLog.Cursor?>(nil)

    init(platform: AddonPlatform, addonID: String, wake: BatchQueue<Void>, consumers: [String], pruneSQL: String) {
        self.platform = platform
        self.addonID = addonID
        self.wake = wake
        self.consumers = consumers
        self.pruneSQL = pruneSQL
    }
    static let batchSize = 256
    static let linger = Duration.milliseconds(25)

    /// One log row for this add-on, ready to hand to it.
    package enum Work: Sendable {
        case event(seq: Int64, view: AddonView, consentID: String)
        case erase(seq: Int64, accountID: String, order: ErasureOrder, pseudonym: String?)

        var seq: Int64 {
            switch self {
            case .event(let seq, _, _), .erase(let seq, _, _, _): seq
            }
        }
    }

    func run() async {
        while !Task.isCancelled {
            let passed: Int
            do {
                passed = try await deliverBatch()
            } catch is CancellationError {
                return
            } catch {
                platform.logger.error(
                    "event delivery failed", metadata: ["addon.id": "\(addonID)", "error": "\(error)"])
                passed = 0
            }
            if passed < Self.batchSize {
                if passed == 0 {
                    // Woken by new work or, at the latest, when a backoff may have passed.
                    await wake.wait(timeout: .milliseconds(250))
                }
                // Lets a few milliseconds of events gather before the next read: each batch costs a
                // read, a delivery and a ledger append whatever its size, and under load batches of
                // a handful of events spent more on that than on the events.
                try? await Task.sleep(for: Self.linger)
                wake.drain()
            }
        }
    }

    /// Returns how many log rows the cursor moved past. The batch is built, delivered and recorded
    /// by one version of the add-on, so a reload in between neither drops nor repeats it.
    func deliverBatch() async throws -> Int {
        try await platform.registry.withAddon(addonID) { manifest, endpoint in
            try await deliverBatch(manifest: manifest, endpoint: endpoint)
        } ?? 0
    }

    private func deliverBatch(manifest: Manifest, endpoint: any AddonEndpoint) async throws -> Int {
        let now = platform.clock.now().epochMillis
        let addonID = self.addonID
        let cursor: EventLog.Cursor
        if let known = knownCursor.withLock({ $0 }) {
            cursor = known
        } else {
            cursor = try await platform.writer.pool.read { db in try EventLog.cursor(db, addonID: addonID) }
            knownCursor.withLock { $0 = cursor }
        }
        // The head of the stream waits out its backoff, and everything behind it waits too, to keep order.
        guard cursor.nextAttemptAt <= now else { return 0 }
        // Fresh rows from memory when this worker keeps up; the table otherwise.
        var rows = platform.recent.read(after: cursor.seq, limit: Self.batchSize) ?? []
        if rows.isEmpty {
            rows = try await platform.writer.pool.read { db in
                try EventLog.read(db, after: cursor.seq, limit: Self.batchSize).map { RecentLog.Row(entry: $0) }
            }
        }
        guard !rows.isEmpty else { return 0 }
        let mine = rows.filter { $0.entry.names(addonID) }
        let modes = try await platform.contentModes(mine.map(\.entry.accountID))
        var work: [Work] = []
        for (entry, decoded) in mine.lazy.map({ ($0.entry, $0.event) }) {
            guard let kind = entry.kind else { continue }  // A kind this version does not know is never guessed at.
            if kind == .erase {
                guard var order = try? JSONDecoder().decode(ErasureOrder.self, from: entry.payload) else { continue }
                if order.pseudonym == nil, let value = order.value {
                    // An order written before the form was decided per add-on: decide it now.
                    let numbers = try await platform.writer.pool.read { db in
                        try Recipients.of(db, accountID: entry.accountID, numbersOnly: true)
                    }.first { $0.addonID == addonID }?.numbers
                    order.pseudonym = platform.mediator.pseudonyms.token(
                        value, addonID: addonID, accountID: entry.accountID)
                    if numbers != .clear { order.value = nil }
                }
                work.append(
                    .erase(seq: entry.seq, accountID: entry.accountID, order: order, pseudonym: order.pseudonym))
                continue
            }
            guard let event = decoded ?? (try? DomainEvent(stored: entry.payload)),
                let grant = platform.consents.current(accountID: entry.accountID, addonID: addonID)
            else { continue }  // Unreadable, or consent withdrawn since it was written: never delivered.
            let view = platform.mediator.view(
                of: event, for: manifest, grant: grant, contentMode: modes[entry.accountID] ?? .store)
            // An event with none of the granted fields would still tell the add-on that something
            // happened, and when: that is not what the customer granted.
            guard !view.fields.isEmpty else { continue }
            work.append(.event(seq: entry.seq, view: view, consentID: grant.id))
        }
        let delivery = work.isEmpty ? Delivery(codes: []) : await endpoint.deliver(work)
        let codes = delivery.codes
        let next = Self.advance(
            cursor, scanned: rows.map(\.entry.seq), work: work.map(\.seq), codes: codes, now: now)
        // Handed over without an answer (the runner crashed or hung holding them): seen all the same.
        let unanswered = work.dropFirst(codes.count).prefix(delivery.unanswered)
        do {
            try await record(
                work: work, codes: codes, unanswered: unanswered, from: cursor, to: next, version: manifest.version)
        } catch {
            knownCursor.withLock { $0 = nil }
            throw error
        }
        knownCursor.withLock { $0 = next }
        return Int(rows.prefix { $0.entry.seq <= next.seq }.count)
    }

    /// Where the cursor goes after a batch. `scanned` are the rows read after `cursor`, in order;
    /// `work` the ones handed to the add-on; `codes` its answers, a prefix of `work` (delivery stops
    /// at the first `SB_RETRY` or failure). The cursor passes every row before the first unanswered
    /// or retried one; a retried head waits 100 ms × 2^attempts (at most 5 min) before it is offered
    /// again, a head that was not answered (the runner was down) is offered again at once.
    package static func advance(
        _ cursor: EventLog.Cursor, scanned: [Int64], work: [Int64], codes: [Int32], now: Int64
    ) -> EventLog.Cursor {
        var stop: (seq: Int64, retried: Bool)?
        for (index, seq) in work.enumerated() {
            if index >= codes.count {
                stop = (seq, false)
                break
            }
            if codes[index] == SB_RETRY {
                stop = (seq, true)
                break
            }
        }
        guard let stop else { return EventLog.Cursor(seq: scanned.last ?? cursor.seq, attempts: 0, nextAttemptAt: 0) }
        // The retry state belongs to the row right after the cursor; another head starts afresh.
        let sameHead = stop.seq - 1 == cursor.seq
        guard stop.retried else {
            return sameHead ? cursor : EventLog.Cursor(seq: stop.seq - 1, attempts: 0, nextAttemptAt: 0)
        }
        let attempts = (sameHead ? cursor.attempts : 0) + 1
        let backoff = min(Int64(100) << Int64(min(attempts, 12)), 300_000)
        return EventLog.Cursor(seq: stop.seq - 1, attempts: attempts, nextAttemptAt: now + backoff)
    }

    private func record(
        work: [Work], codes: [Int32], unanswered: ArraySlice<Work>, from cursor: EventLog.Cursor,
        to next: EventLog.Cursor, version: String
    ) async throws {
        // A view that reached the add-on is a share whether or not it was answered: an add-on that
        // crashes while holding an event has still read it, and erasure must reach it.
        var shares: [Ledger.Share] = unanswered.compactMap { item in
            guard case .event(_, let view, let consentID) = item else { return nil }
            return Ledger.Share(addonID: self.addonID, addonVersion: version, view: view, consentID: consentID)
        }
        var erasures: [(requestID: String, state: ErasureStatus.TaskState, detail: String?)] = []
        var retriedErasure: String?
        // Events handed over for good (answered `SB_OK` or an error); a retried one is counted
        // when it is finally answered, so the counter says how many events reached the add-on.
        var delivered = 0
        for (item, code) in zip(work, codes) {
            if code == SB_RETRY {
                // Delivery stops at a retry, but an `end_batch` that failed turns the whole batch
                // into retries: each of those views was still seen.
                switch item {
                case .erase(_, _, let order, _):
                    if retriedErasure == nil { retriedErasure = order.requestID }
                case .event(_, let view, let consentID):
                    // The add-on saw the view even though it asked for it again later.
                    shares.append(
                        Ledger.Share(addonID: addonID, addonVersion: version, view: view, consentID: consentID))
                }
                continue
            }
            switch item {
            case .event(_, let view, let consentID):
                delivered += 1
                if code != SB_OK {
                    platform.logger.warning(
                        "add-on refused an event",
                        metadata: ["addon.id": "\(addonID)", "event.id": "\(view.eventID)", "code": "\(code)"])
                    platform.counters.eventErrors(addonID).increment()
                }
                // The view crossed the line whatever the add-on answered.
                shares.append(Ledger.Share(addonID: addonID, addonVersion: version, view: view, consentID: consentID))
            case .erase(_, let accountID, let order, _):
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
        guard next != cursor || !shares.isEmpty else { return }
        if delivered > 0 { platform.counters.eventsDelivered(addonID).increment(by: Int64(delivered)) }
        let (addonID, consumers, pruneSQL) = (self.addonID, self.consumers, self.pruneSQL)
        let recorded = shares
        let erasureUpdates = erasures
        let retried = retriedErasure
        let at = platform.clock.now().epochMillis
        try await platform.writer.write { db in
            try Ledger.append(db, recorded, at: at)
            try EventLog.move(db, addonID: addonID, to: next)
            if next.seq > cursor.seq { try EventLog.prune(db, consumers: consumers, sql: pruneSQL) }
            for update in erasureUpdates {
                try db.cachedStatement(
                    sql: """
                        UPDATE erasure_tasks SET state = ?, detail = ?, attempts = attempts + 1, updated_at = ?
                        WHERE request_id = ? AND addon_id = ?
                        """
                ).execute(arguments: [update.state.rawValue, update.detail, at, update.requestID, addonID])
                try ErasureRequests.settle(db, requestID: update.requestID)
            }
            if let retried {
                try db.cachedStatement(
                    sql: """
                        UPDATE erasure_tasks SET attempts = ?, detail = 'the add-on asked to be asked again later', updated_at = ?
                        WHERE request_id = ? AND addon_id = ?
                        """
                ).execute(arguments: [next.attempts, at, retried, addonID])
            }
        }
    }
}
