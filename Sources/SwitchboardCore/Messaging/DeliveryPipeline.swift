import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Moves outbound messages from `queued` to the carrier and applies what the carrier reports back.
///
/// Every state change is one batched write that also queues the status callback, so a callback is
/// never lost or sent for a change that did not commit.
///
/// **A message is handed to the carrier at most once.** Before the carrier is called, the message's
/// `submit_started_at` is recorded; the carrier's answer is then recorded with the status. A write
/// that fails because the storage refuses writes (a full disk, see `StorageFault`) is retried in the
/// running daemon with backoff (`WriteRetry`), so nothing waits for a restart once space is freed.
/// After a restart, a `queued` message without `submit_started_at` is submitted; one with it (the
/// daemon stopped between the two writes) is reconciled with the carrier (`acceptance(of:)`) and
/// submitted again only when the carrier says it never received it; whatever is `sent` is handed
/// back to the carrier to report on.
public final class DeliveryPipeline: CarrierDelegate, Service {
    private let store: MessageStore
    private let carrier: any CarrierConnector
    private let callbacks: StatusCallbackQueue
    private let metrics: (any PipelineMetrics)?
    private let logger: Logger
    private let submissions = BatchQueue<Message>()
    private let permits: SubmitPermits
    /// The carrier's answers and its delivery reports, each written in batches (`WriteGathering`).
    private let results = WriteGathering<(String, CarrierSubmitResult)>()
    private let reports = WriteGathering<DeliveryReport>()
    /// Messages the carrier could not take, by id, until their wait ends or a link comes up, and
    /// how many times a link came up (so a deferral that raced a bind is not left waiting).
    private let deferred = Mutex<(messages: [String: Message], links: UInt64)>(([:], 0))

    package init(
        store: MessageStore, carrier: any CarrierConnector, callbacks: StatusCallbackQueue,
        metrics: (any PipelineMetrics)? = nil, logger: Logger
    ) {
        self.store = store
        self.carrier = carrier
        self.callbacks = callbacks
        self.metrics = metrics
        self.logger = logger
        permits = SubmitPermits(capacity: carrier.submitCapacity ?? Int.max / 2)
        carrier.bind(self)
    }

    /// Called once a new outbound message committed; the pipeline works from this copy rather than
    /// read the row back.
    func enqueue(_ message: Message) {
        submissions.push(message)
    }

    public func run() async throws {
        // The batched writes start first (receipts may arrive while unfinished messages are
        // resumed) and outlive the submissions: an answer that arrives during shutdown is still
        // recorded, so the message is not submitted again at the next start.
        try await withThrowingDiscardingTaskGroup { writers in
            writers.addTask {
                await self.results.run(linger: Self.linger, enough: Self.enough) {
                    try await self.record($0, work: .carrierResults)
                }
            }
            writers.addTask {
                await self.reports.run(linger: Self.linger, enough: Self.enough) {
                    try await self.recordReports($0)
                }
            }
            defer {
                results.close()
                reports.close()
            }
            try await resumeUnfinished()
            await submitQueued()
        }
    }

    /// Picks up where the last run stopped: reconciles submissions that began, hands `sent`
    /// messages back to the carrier, and queues the rest.
    private func resumeUnfinished() async throws {
        let unfinished = try await store.unfinished()
        if !unfinished.isEmpty {
            logger.info("resuming unfinished messages", metadata: ["count": "\(unfinished.count)"])
        }
        let begun = unfinished.filter { $0.status == .queued && $0.submitStartedAt != nil }
        let reconciledAsSent = try await reconcile(begun)
        let sent = unfinished.filter { $0.status == .sent }.map(Self.submission)
        await carrier.resume(sent + reconciledAsSent)
        submissions.push(contentsOf: unfinished.filter { $0.status == .queued && $0.submitStartedAt == nil })
    }

    /// Claims queued messages as permits free and submits each in a task of its own, until shutdown.
    private func submitQueued() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while let messages = await self.nextSlice() {
                    let claimed: [Message]
                    do {
                        claimed = try await self.claim(messages)
                    } catch {
                        // Only a shutdown or an error that is not a storage fault ends here; the
                        // messages stay `queued`, and are reconciled at the next start if their
                        // submission began.
                        self.permits.release(messages.count)
                        self.logger.error(
                            "could not submit messages", metadata: ["error": "\(error)", "count": "\(messages.count)"])
                        continue
                    }
                    self.permits.release(messages.count - claimed.count)
                    self.metrics?.inFlight(claimed.count)
                    for message in claimed {
                        group.addTask {
                            defer {
                                self.permits.release(1)
                                self.metrics?.inFlight(-1)
                            }
                            do {
                                try await self.submitOne(message)
                            } catch {
                                self.logger.error(
                                    "could not submit a message",
                                    metadata: ["error": "\(error)", "message": "\(message.id)"])
                            }
                        }
                    }
                }
            }
        }
    }

    /// The next messages to claim: as many as there are free permits (at most `Self.claimLimit`),
    /// once at least one is free and something is queued; nil at shutdown.
    private func nextSlice() async -> [Message]? {
        let taken = await permits.acquire(upTo: Self.claimLimit)
        guard taken > 0 else { return nil }
        guard let messages = await submissions.next(max: taken) else {
            permits.release(taken)
            return nil
        }
        permits.release(taken - messages.count)
        return messages
    }

    /// The most messages one claim takes: one writer transaction of this many `UPDATE`s keeps the
    /// HTTP inserts queued behind it to a few milliseconds.
    private static let claimLimit = 512

    /// How long the carrier's answers and reports wait for others to be written with, and how many
    /// are written without waiting (see `WriteGathering`).
    private static let linger = Duration.milliseconds(5)
    private static let enough = 256

    private static func submission(_ message: Message) -> CarrierSubmission {
        CarrierSubmission(messageID: message.id, to: message.to, from: message.from, body: message.body ?? "")
    }

    /// Settles messages whose submission began before the daemon stopped but whose result was never
    /// recorded, by asking the carrier. Those it accepted are marked `sent` and returned, to be
    /// resumed; those it never received are submitted again; those it cannot tell about are marked
    /// `sent` without a second submission, with a warning: a duplicate SMS cannot be taken back, a
    /// missing delivery report can be waited for.
    private func reconcile(_ begun: [Message]) async throws -> [CarrierSubmission] {
        guard !begun.isEmpty else { return [] }
        let answers = await carrier.acceptance(of: begun.map(Self.submission))
        let notReceived = begun.filter { answers[$0.id] == false }
        let accepted = begun.filter { answers[$0.id] == true }
        let unknown = begun.filter { answers[$0.id] == nil }
        for _ in accepted { metrics?.reconciled(.accepted) }
        for _ in notReceived { metrics?.reconciled(.notReceived) }
        for _ in unknown { metrics?.reconciled(.unknown) }
        logger.info(
            "reconciled messages whose submission began before the restart",
            metadata: [
                "accepted": "\(accepted.count)", "not_received": "\(notReceived.count)", "unknown": "\(unknown.count)",
            ])
        if !unknown.isEmpty {
            logger.warning(
                "the carrier cannot tell whether it accepted these messages; marked sent, not submitted again",
                metadata: ["count": "\(unknown.count)"])
        }
        let sent = accepted + unknown
        try await record(sent.map { ($0.id, CarrierSubmitResult.accepted) }, work: .carrierResults)
        if !notReceived.isEmpty {
            let ids = notReceived.map(\.id)
            // Cleared so that `claim` takes them again: the carrier never had them.
            try await recording(.submitIntent) { db in
                for id in ids {
                    try db.execute(
                        sql: "UPDATE messages SET submit_started_at = NULL WHERE id = ? AND status = 'queued'",
                        arguments: [id])
                }
            }
            submissions.push(contentsOf: notReceived)
        }
        return sent.map(Self.submission)
    }

    private func submitOne(_ message: Message) async throws {
        let links = deferred.withLock { $0.links }
        let result = await carrier.submit(Self.submission(message))
        metrics?.submitted(result)
        if case .retryLater(let reason, let after) = result {
            try await deferSubmission(message, reason: reason, after: after, links: links)
            return
        }
        do {
            try await results.write([(message.id, result)])
        } catch is WriteGathering<(String, CarrierSubmitResult)>.Closed {
            try await record([(message.id, result)], work: .carrierResults)
        }
    }

    /// Puts a message the carrier could not take now back in the queue after `after`, or sooner
    /// when the carrier says a link came up (`carrierBecameAvailable`): its submit intent is
    /// cleared, since nothing reached a carrier. Its permit is given back at once: held, messages
    /// for a connector that is down would hold back those another connector could take.
    private func deferSubmission(_ message: Message, reason: String, after: Duration, links: UInt64) async throws {
        let id = message.id
        logger.debug("submission deferred", metadata: ["message": "\(id)", "reason": "\(reason)"])
        try await recording(.submitIntent) { db in
            try db.execute(
                sql: "UPDATE messages SET submit_started_at = NULL WHERE id = ? AND status = 'queued'", arguments: [id])
        }
        // A link that came up since the carrier was asked would not find this message parked.
        let linkCameUp = deferred.withLock { deferred -> Bool in
            guard deferred.links == links else { return true }
            deferred.messages[id] = message
            return false
        }
        if linkCameUp {
            submissions.push(message)
            return
        }
        Task {
            try? await Task.sleep(for: after)
            // Unless a link coming up queued it already.
            if let message = self.deferred.withLock({ $0.messages.removeValue(forKey: id) }) {
                self.submissions.push(message)
            }
        }
    }

    public func carrierBecameAvailable() {
        let waiting = deferred.withLock { deferred in
            deferred.links &+= 1
            defer { deferred.messages.removeAll() }
            return deferred.messages.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
        guard !waiting.isEmpty else { return }
        logger.info("a carrier link came up; submitting deferred messages", metadata: ["count": "\(waiting.count)"])
        submissions.push(contentsOf: waiting)
    }

    public func submissions(connectors: [String], carrierMessageIDs: [String]) async throws -> [String:
        SubmittedMessage]
    {
        guard !carrierMessageIDs.isEmpty, !connectors.isEmpty else { return [:] }
        return try await store.writer.pool.read { db in
            var found: [String: SubmittedMessage] = [:]
            let statement = try db.cachedStatement(
                sql: """
                    SELECT s.message_id, m.status FROM carrier_submissions s JOIN messages m ON m.id = s.message_id
                    WHERE s.connector = ? AND s.carrier_message_id = ?
                    """)
            for carrierID in carrierMessageIDs {
                for connector in connectors {
                    if let row = try Row.fetchOne(statement, arguments: [connector, carrierID]) {
                        let status: String = row[1]
                        found[carrierID] = SubmittedMessage(messageID: row[0], settled: status != "sent")
                        break
                    }
                }
            }
            return found
        }
    }

    /// Records that the submission of `messages` begins, and returns those it may go ahead for:
    /// still `queued` (an erased account's messages failed meanwhile) and not begun before.
    private func claim(_ messages: [Message]) async throws -> [Message] {
        let queued = messages.filter { $0.status == .queued }
        guard !queued.isEmpty else { return [] }
        let now = store.clock.now().epochMillis
        let ids = queued.map(\.id)
        let claimed = try await recording(.submitIntent) { db in
            var claimed = Set<String>()
            let statement = try db.cachedStatement(sql: Self.markSubmitStarted)
            for id in ids {
                if let id = try String.fetchOne(statement, arguments: [now, id]) { claimed.insert(id) }
            }
            return claimed
        }
        return queued.filter { claimed.contains($0.id) }
    }

    /// Runs `body` as one write, again and again with backoff while the storage refuses writes
    /// (`StorageFault`), logging each failure: what it records already happened at the carrier and
    /// must not be lost. Throws on cancellation (shutdown) and on errors that are not storage faults.
    private func recording<T: Sendable>(
        _ work: PipelineWork, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        var retry = WriteRetry()
        while true {
            do {
                return try await store.writer.write(body)
            } catch let error as DatabaseError where StorageFault(error) != nil {
                retry.record(success: false)
                metrics?.writeRetried(work)
                logger.error(
                    "could not record \(work); retrying with backoff",
                    metadata: ["error": "\(error)", "retry_in": "\(retry.remaining)"])
                try await Task.sleep(for: retry.remaining)
            }
        }
    }

    /// Records the carrier's answers: `sent` for an acceptance, `failed` with the carrier's code for
    /// a refusal, each with its event and status callback.
    private func record(_ results: [(String, CarrierSubmitResult)], work: PipelineWork) async throws {
        guard !results.isEmpty else { return }
        let now = store.clock.now().epochMillis
        let digest = store.digest
        let events = store.events
        let callbacks = self.callbacks
        let submitted = results
        let queuedCallbacks = try await recording(work) { db in
            var queuedCallbacks = false
            for (id, result) in submitted {
                // Only a message still `queued` moves on (an erased account's messages failed meanwhile).
                let changed: ChangedMessage?
                switch result {
                case .accepted:
                    changed = try ChangedMessage.fetch(
                        db.cachedStatement(sql: Self.markSent), arguments: [now, now, id])
                case .acceptedAs(let reference):
                    let insert = try db.cachedStatement(sql: Self.recordReference)
                    for (part, carrierID) in reference.messageIDs.enumerated() {
                        try insert.execute(arguments: [reference.connector, carrierID, id, part + 1, now])
                    }
                    changed = try ChangedMessage.fetch(
                        db.cachedStatement(sql: Self.markSent), arguments: [now, now, id])
                case .rejected(let code, let reason):
                    changed = try ChangedMessage.fetch(
                        db.cachedStatement(sql: Self.markRejected), arguments: [code, reason, now, now, id])
                case .retryLater:
                    changed = nil
                }
                guard let changed else { continue }
                if try Self.announce(db, changed, events: events, callbacks: callbacks, now: now, digest: digest) {
                    queuedCallbacks = true
                }
            }
            return queuedCallbacks
        }
        // The callback sender only looks at its queue when there is something new in it.
        if queuedCallbacks { callbacks.wake() }
    }

    public func carrierDidReport(_ reports: [DeliveryReport]) async {
        do {
            do {
                try await self.reports.write(reports)
            } catch is WriteGathering<DeliveryReport>.Closed {
                try await recordReports(reports)
            }
        } catch {
            // Only at shutdown, or for an error that is not a storage fault: the messages stay
            // `sent`, and the carrier is asked again for them on the next start.
            logger.error(
                "could not record delivery reports", metadata: ["error": "\(error)", "count": "\(reports.count)"])
        }
    }

    /// Records the final statuses `reports` carry, each with its event and status callback.
    private func recordReports(_ reports: [DeliveryReport]) async throws {
        let now = store.clock.now().epochMillis
        let digest = store.digest
        let events = store.events
        let callbacks = self.callbacks
        let queuedCallbacks = try await recording(.deliveryReports) { db in
            var queuedCallbacks = false
            for report in reports {
                let arguments: StatementArguments = [
                    report.outcome.rawValue, report.errorCode, report.errorMessage, now, now, report.messageID,
                ]
                var changed = try ChangedMessage.fetch(
                    db.cachedStatement(sql: Self.markFinal), arguments: arguments)
                if changed == nil {
                    // A report can overtake the commit that marks its message sent (an instant
                    // carrier, or a real one answering before its own submit acknowledgement):
                    // the message is then marked sent first, so every message passes through
                    // `sent`, with its event and callback, exactly once.
                    guard
                        let overtaken = try ChangedMessage.fetch(
                            db.cachedStatement(sql: Self.markSent), arguments: [now, now, report.messageID])
                    else { continue }
                    if try Self.announce(
                        db, overtaken, events: events, callbacks: callbacks, now: now, digest: digest)
                    {
                        queuedCallbacks = true
                    }
                    changed = try ChangedMessage.fetch(
                        db.cachedStatement(sql: Self.markFinal), arguments: arguments)
                }
                guard let changed else { continue }
                if try Self.announce(db, changed, events: events, callbacks: callbacks, now: now, digest: digest) {
                    queuedCallbacks = true
                }
            }
            return queuedCallbacks
        }
        if queuedCallbacks { callbacks.wake() }
    }

    /// A status change hands back the changed message and its account's content mode, so that the
    /// add-on event, the callback and the content mode need no second read of the row.
    private static let returning =
        "RETURNING \(Message.columns), (SELECT content_mode FROM accounts WHERE accounts.id = messages.account_id)"

    /// The usual case first: the message is `sent`, so one statement moves it on.
    private static let markFinal = """
        UPDATE messages SET status = ?, error_code = ?, error_message = ?, completed_at = ?, updated_at = ?
        WHERE id = ? AND status = 'sent' \(returning)
        """

    private static let markRejected = """
        UPDATE messages SET status = 'failed', error_code = ?, error_message = ?, completed_at = ?,
            updated_at = ? WHERE id = ? AND status = 'queued' \(returning)
        """

    /// An SMSC's ids come round again in time (counters wrap, a restarted simulator starts over):
    /// the newest submission under an id is the one its next receipt is about.
    private static let recordReference = """
        INSERT OR REPLACE INTO carrier_submissions (connector, carrier_message_id, message_id, part, created_at)
        VALUES (?, ?, ?, ?, ?)
        """

    private static let markSubmitStarted =
        "UPDATE messages SET submit_started_at = ? WHERE id = ? AND status = 'queued' AND submit_started_at IS NULL RETURNING id"

    private static let markSent =
        "UPDATE messages SET status = 'sent', sent_at = ?, updated_at = ? WHERE id = ? AND status = 'queued' \(returning)"

    /// Publishes the message's new status to add-ons and queues its status callback, inside the
    /// transaction that set it (before its content mode applies, which a final status triggers).
    /// Returns whether a callback was queued.
    private static func announce(
        _ db: Database, _ changed: ChangedMessage, events: any DomainEventSink, callbacks: StatusCallbackQueue,
        now: Int64, digest: ContentDigest
    ) throws -> Bool {
        let message = changed.message
        try events.publish(db, .messageStatus, accountID: message.accountID) { .messageStatus(message) }
        let queued = try callbacks.enqueue(db, message: message, now: now)
        if message.status.isFinal {
            try MessageStore.applyContentMode(db, message: message, mode: changed.contentMode, digest: digest)
        }
        return queued
    }

    /// Stores an inbound message and, when its number has an inbound webhook, queues the webhook in
    /// the same transaction.
    public func carrierDidReceive(_ inbound: InboundSMS) async throws -> InboundOutcome {
        let callbacks = self.callbacks
        let now = store.clock.now().epochMillis
        let body = inbound.body
        let queued = Mutex(false)
        let outcome = try await store.receive(inbound) { db, message, url in
            try callbacks.enqueueInbound(db, message: message, body: body, url: url, now: now)
            queued.withLock { $0 = true }
        }
        if queued.withLock({ $0 }) { callbacks.wake() }
        return outcome
    }
}
