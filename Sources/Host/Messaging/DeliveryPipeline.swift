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
    private let submissions = BatchQueue<String>()

    init(store: MessageStore, carrier: any CarrierConnector, callbacks: StatusCallbackQueue, logger: Logger) {
        self.store = store
        self.carrier = carrier
        self.callbacks = callbacks
        self.logger = logger
        carrier.bind(self)
    }

    /// Called once a new outbound message committed.
    func enqueue(_ messageID: String) {
        submissions.push(messageID)
    }

    public func run() async throws {
        let unfinished = try await store.unfinished()
        let resumed = unfinished.filter { $0.status == .sent }.map(Self.submission)
        if !unfinished.isEmpty {
            logger.info("resuming unfinished messages", metadata: ["count": "\(unfinished.count)"])
        }
        await carrier.resume(resumed)
        submissions.push(contentsOf: unfinished.filter { $0.status == .queued }.map(\.id))
        await cancelWhenGracefulShutdown {
            while let ids = await self.submissions.next() {
                do {
                    try await self.submit(ids)
                } catch {
                    // Still `queued` in the database: the next start submits them again.
                    self.logger.error(
                        "could not submit messages", metadata: ["error": "\(error)", "count": "\(ids.count)"])
                }
            }
        }
    }

    private static func submission(_ message: Message) -> CarrierSubmission {
        CarrierSubmission(messageID: message.id, to: message.to, from: message.from, body: message.body ?? "")
    }

    private func submit(_ ids: [String]) async throws {
        var results: [(String, CarrierSubmitResult)] = []
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            let messages = try await store.messages(ids: chunk)
            for message in messages where message.status == .queued {
                results.append((message.id, await carrier.submit(Self.submission(message))))
            }
        }
        guard !results.isEmpty else { return }
        let now = store.clock.now().epochMillis
        let digest = store.digest
        let events = store.events
        let callbacks = self.callbacks
        let submitted = results
        try await store.writer.write { db in
            for (id, result) in submitted {
                switch result {
                case .accepted:
                    try db.cachedStatement(
                        sql:
                            "UPDATE messages SET status = 'sent', sent_at = ?, updated_at = ? WHERE id = ? AND status = 'queued'"
                    ).execute(arguments: [now, now, id])
                case .rejected(let code, let reason):
                    try db.cachedStatement(
                        sql: """
                            UPDATE messages SET status = 'failed', error_code = ?, error_message = ?, completed_at = ?,
                                updated_at = ? WHERE id = ? AND status = 'queued'
                            """
                    ).execute(arguments: [code, reason, now, now, id])
                }
                try Self.announce(db, messageID: id, events: events, callbacks: callbacks, now: now)
                if case .rejected = result { try MessageStore.applyContentMode(db, messageID: id, digest: digest) }
            }
        }
        callbacks.wake()
    }

    public func carrierDidReport(_ reports: [DeliveryReport]) async {
        let now = store.clock.now().epochMillis
        let digest = store.digest
        let events = store.events
        let callbacks = self.callbacks
        do {
            try await store.writer.write { db in
                for report in reports {
                    try db.cachedStatement(
                        sql: """
                            UPDATE messages SET status = ?, error_code = ?, error_message = ?, completed_at = ?,
                                updated_at = ? WHERE id = ? AND status IN ('queued', 'sent')
                            """
                    ).execute(arguments: [
                        report.outcome.rawValue, report.errorCode, report.errorMessage, now, now, report.messageID,
                    ])
                    guard db.changesCount > 0 else { continue }
                    try Self.announce(db, messageID: report.messageID, events: events, callbacks: callbacks, now: now)
                    try MessageStore.applyContentMode(db, messageID: report.messageID, digest: digest)
                }
            }
            callbacks.wake()
        } catch {
            // The messages stay `sent`; the carrier is asked again for them on the next start.
            logger.error(
                "could not record delivery reports", metadata: ["error": "\(error)", "count": "\(reports.count)"])
        }
    }

    /// Publishes the message's new status to add-ons and queues its status callback, inside the
    /// transaction that set it, reading the message once for both (before its content mode applies).
    private static func announce(
        _ db: Database, messageID: String, events: any DomainEventSink, callbacks: StatusCallbackQueue, now: Int64
    ) throws {
        guard
            let message = try Message.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM messages WHERE id = ?"), arguments: [messageID])
        else { return }
        try events.publish(db, .messageStatus(message))
        try callbacks.enqueue(db, message: message, now: now)
    }

    public func carrierDidReceive(_ inbound: InboundSMS) async throws -> InboundOutcome {
        try await store.receive(inbound)
    }
}
