import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Moves outbound messages from `queued` to the carrier and applies what the carrier reports back.
///
/// Every state change is one batched write that also queues the status callback, so a callback is
/// never lost or sent for a change that did not commit. After a restart, whatever is still `queued` is
/// submitted again and whatever is `sent` is handed back to the carrier to report on.
public final class DeliveryPipeline: CarrierDelegate, Service {
    private let store: MessageStore
    private let carrier: any CarrierConnector
    private let callbacks: StatusCallbackQueue
    private let logger: Logger
    private let submissions = BatchQueue<Message>()

    package init(store: MessageStore, carrier: any CarrierConnector, callbacks: StatusCallbackQueue, logger: Logger) {
        self.store = store
        self.carrier = carrier
        self.callbacks = callbacks
        self.logger = logger
        carrier.bind(self)
    }

    /// Called once a new outbound message committed; the pipeline works from this copy rather than
    /// read the row back.
    func enqueue(_ message: Message) {
        submissions.push(message)
    }

    public func run() async throws {
        let unfinished = try await store.unfinished()
        let resumed = unfinished.filter { $0.status == .sent }.map(Self.submission)
        if !unfinished.isEmpty {
            logger.info("resuming unfinished messages", metadata: ["count": "\(unfinished.count)"])
        }
        await carrier.resume(resumed)
        submissions.push(contentsOf: unfinished.filter { $0.status == .queued })
        await cancelWhenGracefulShutdown {
            while let messages = await self.submissions.next() {
                do {
                    try await self.submit(messages)
                } catch {
                    // Still `queued` in the database: the next start submits them again.
                    self.logger.error(
                        "could not submit messages", metadata: ["error": "\(error)", "count": "\(messages.count)"])
                }
            }
        }
    }

    private static func submission(_ message: Message) -> CarrierSubmission {
        CarrierSubmission(messageID: message.id, to: message.to, from: message.from, body: message.body ?? "")
    }

    private func submit(_ messages: [Message]) async throws {
        var results: [(String, CarrierSubmitResult)] = []
        for message in messages where message.status == .queued {
            results.append((message.id, await carrier.submit(Self.submission(message))))
        }
        guard !results.isEmpty else { return }
        let now = store.clock.now().epochMillis
        let digest = store.digest
        let events = store.events
        let callbacks = self.callbacks
        let submitted = results
        let queuedCallbacks = try await store.writer.write { db in
            var queuedCallbacks = false
            for (id, result) in submitted {
                // Only a message still `queued` moves on (an erased account's messages failed meanwhile).
                let changed: ChangedMessage?
                switch result {
                case .accepted:
                    changed = try ChangedMessage.fetch(
                        db.cachedStatement(sql: Self.markSent), arguments: [now, now, id])
                case .rejected(let code, let reason):
                    changed = try ChangedMessage.fetch(
                        db.cachedStatement(
                            sql: """
                                UPDATE messages SET status = 'failed', error_code = ?, error_message = ?, completed_at = ?,
                                    updated_at = ? WHERE id = ? AND status = 'queued' \(Self.returning)
                                """), arguments: [code, reason, now, now, id])
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
        let now = store.clock.now().epochMillis
        let digest = store.digest
        let events = store.events
        let callbacks = self.callbacks
        do {
            let queuedCallbacks = try await store.writer.write { db in
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
        } catch {
            // The messages stay `sent`; the carrier is asked again for them on the next start.
            logger.error(
                "could not record delivery reports", metadata: ["error": "\(error)", "count": "\(reports.count)"])
        }
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

    public func carrierDidReceive(_ inbound: InboundSMS) async throws -> InboundOutcome {
        try await store.receive(inbound)
    }
}
