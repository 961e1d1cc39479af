import Foundation
import GRDB
import PluginAPI
import SwitchboardCore

/// What the event log carries to one add-on for an erasure.
/// Written per add-on: the number in clear only for an add-on that received this account's numbers
/// in clear, and always as this add-on's pseudonym, so the request tells it nothing it did not have.
package struct ErasureOrder: Codable, Sendable {
    var requestID: String
    var subjectKind: ErasureSubject.Kind
    var value: String?
    /// Nil in orders written before pseudonyms were decided per add-on (see `OutboxWorker`).
    var pseudonym: String?

    package init(requestID: String, subjectKind: ErasureSubject.Kind, value: String?, pseudonym: String?) {
        self.requestID = requestID
        self.subjectKind = subjectKind
        self.value = value
        self.pseudonym = pseudonym
    }
}

/// A deletion request and where it stands with each add-on that received data about the subject.
public struct ErasureStatus: Sendable, Equatable {
    /// Where one add-on's part of the request stands (`erasure_tasks.state`).
    public enum TaskState: String, Sendable, Codable {
        /// Not yet acknowledged by the add-on (queued, retrying, or waiting for it to be loaded).
        case pending
        /// The add-on answered that it erased the subject.
        case done
        /// The add-on answered that it cannot erase this subject.
        case failed
    }

    public struct Task: Sendable, Equatable {
        public var addonID: String
        public var state: TaskState
        public var attempts: Int
        public var detail: String?
        public var updatedAt: Int64
    }

    public var id: String
    public var accountID: String
    public var subjectKind: ErasureSubject.Kind
    public var subjectValue: String?
    public var origin: String
    public var createdAt: Int64
    public var tasks: [Task]
}

extension AddonPlatform: ErasureRequestSink {
    /// Records a deletion request and queues `erase` for every add-on the ledger says received data
    /// about the subject, in the caller's transaction. For a whole account, the account's pending
    /// events and stored add-on records go at once; pending erasure orders stay, so they still reach
    /// their add-ons.
    public func requestErasure(_ db: Database, accountID: String, subject: ErasureSubject, origin: String) throws
        -> String
    {
        if subject == .account {
            try EventLog.forgetAccount(db, accountID: accountID)
            _ = writer.afterRequestCommit { [recent] in recent.forget(accountID: accountID) }
            try db.execute(sql: "DELETE FROM addon_records WHERE account_id = ?", arguments: [accountID])
            try consents.withdrawAll(db, accountID: accountID, actor: origin)
            db.afterNextTransaction(onCommit: { [records] db in
                records.forgetAccountSeries(accountID, committedIn: db)
            })
        }
        return try recordErasure(db, accountID: accountID, subject: subject, origin: origin, onlyAddon: nil)
    }

    public func requestErasure(_ db: Database, accountID: String, atAddon addonID: String, origin: String) throws
        -> String
    {
        try recordErasure(db, accountID: accountID, subject: .account, origin: origin, onlyAddon: addonID)
    }

    /// Records a deletion request for the add-ons alone (the core's copy is not touched), or only for
    /// `onlyAddon`, in one transaction. Delivery goes through the event log, so it survives restarts and
    /// is retried until each add-on acknowledges.
    public func requestErasure(
        accountID: String, subject: ErasureSubject, origin: String, onlyAddon: String? = nil
    ) async throws -> ErasureStatus {
        let id = try await writer.write { db in
            try self.recordErasure(db, accountID: accountID, subject: subject, origin: origin, onlyAddon: onlyAddon)
        }
        return try await erasureStatus(id: id, accountID: accountID)!
    }

    private func recordErasure(
        _ db: Database, accountID: String, subject: ErasureSubject, origin: String, onlyAddon: String?
    ) throws -> String {
        let id = Identifier.make("er")
        let now = clock.now().epochMillis
        let loaded = Set(registry.manifests.map(\.id))
        // Identifiers travel in usage.to and usage.from; an account's data in any field. The durable
        // recipients record, not the ledger rows that compaction removes, says who received what.
        var targets = try Recipients.of(db, accountID: accountID, numbersOnly: subject != .account)
        if let onlyAddon { targets = targets.filter { $0.addonID == onlyAddon } }
        // The number is kept only while an add-on has still to answer (`ErasureRequests.settle`):
        // an erasure request must not become the place where the erased number lives on.
        try db.execute(
            sql: """
                INSERT INTO erasure_requests (id, account_id, subject_kind, subject_value, origin, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [id, accountID, subject.kind.rawValue, targets.isEmpty ? nil : subject.value, origin, now])
        for (addon, numbers) in targets {
            let order = try JSONEncoder().encode(
                ErasureOrder(
                    requestID: id, subjectKind: subject.kind, value: numbers == .clear ? subject.value : nil,
                    pseudonym: subject.value.map {
                        mediator.pseudonyms.token($0, addonID: addon, accountID: accountID)
                    }))
            let available = loaded.contains(addon)
            try db.execute(
                sql:
                    "INSERT INTO erasure_tasks (request_id, addon_id, state, detail, updated_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    id, addon, ErasureStatus.TaskState.pending.rawValue,
                    available ? nil : "the add-on is not loaded; the request waits until it is", now,
                ])
            try appendToLog(
                db, accountID: accountID, kind: .erase, recipients: EventLog.recipients([addon]), payload: order,
                event: nil)
        }
        commitWakeups.wake(targets.map(\.addonID), after: db)
        return id
    }

    /// The account's erasure requests, newest first, each with every add-on's answer.
    public func erasureStatuses(accountID: String, limit: Int = 50) async throws -> [ErasureStatus] {
        let ids = try await writer.pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM erasure_requests WHERE account_id = ? ORDER BY created_at DESC, id LIMIT ?",
                arguments: [accountID, limit])
        }
        var statuses: [ErasureStatus] = []
        for id in ids {
            if let status = try await erasureStatus(id: id, accountID: accountID) { statuses.append(status) }
        }
        return statuses
    }

    public func erasureStatus(id: String, accountID: String?) async throws -> ErasureStatus? {
        try await writer.pool.read { db in
            guard
                let request = try Row.fetchOne(
                    db, sql: "SELECT * FROM erasure_requests WHERE id = ? AND (? IS NULL OR account_id = ?)",
                    arguments: [id, accountID, accountID])
            else { return nil }
            let tasks = try Row.fetchAll(
                db, sql: "SELECT * FROM erasure_tasks WHERE request_id = ? ORDER BY addon_id", arguments: [id]
            ).map {
                ErasureStatus.Task(
                    addonID: $0["addon_id"], state: ErasureStatus.TaskState(rawValue: $0["state"]) ?? .pending,
                    attempts: $0["attempts"], detail: $0["detail"],
                    updatedAt: $0["updated_at"])
            }
            let storedKind: String = request["subject_kind"]
            // A kind this version does not know is an error, never read as a whole account.
            guard let kind = ErasureSubject.Kind(rawValue: storedKind) else {
                throw DatabaseError(message: "erasure request \(id) has an unknown subject kind \(storedKind)")
            }
            return ErasureStatus(
                id: request["id"], accountID: request["account_id"], subjectKind: kind,
                subjectValue: request["subject_value"], origin: request["origin"], createdAt: request["created_at"],
                tasks: tasks)
        }
    }
}
