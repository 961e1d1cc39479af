import Foundation
import GRDB
import PluginAPI

/// Whose data a deletion request is about.
public enum ErasureSubject: Sendable, Equatable {
    case account
    case number(String)
    case contact(id: String, number: String)

    var kind: String {
        switch self {
        case .account: "account"
        case .number: "number"
        case .contact: "contact"
        }
    }

    var value: String? {
        switch self {
        case .account: nil
        case .number(let number): number
        case .contact(_, let number): number
        }
    }

    /// `SB_SUBJECT_*`.
    static func abiKind(_ kind: String) -> UInt32 {
        switch kind {
        case "number": UInt32(SB_SUBJECT_NUMBER)
        case "contact": UInt32(SB_SUBJECT_CONTACT)
        default: UInt32(SB_SUBJECT_ACCOUNT)
        }
    }
}

/// What goes into an add-on's outbox for an erasure.
struct ErasureOrder: Codable, Sendable {
    var requestID: String
    var subjectKind: String
    var value: String?
}

/// A deletion request and where it stands with each add-on that received data about the subject.
public struct ErasureStatus: Sendable, Equatable {
    public struct Task: Sendable, Equatable {
        public var addonID: String
        public var state: String
        public var attempts: Int
        public var detail: String?
        public var updatedAt: Int64
    }

    public var id: String
    public var accountID: String
    public var subjectKind: String
    public var subjectValue: String?
    public var origin: String
    public var createdAt: Int64
    public var tasks: [Task]
}

extension AddonPlatform {
    /// Records a deletion request and queues `erase` for every add-on the ledger says received data
    /// about the subject (or only `onlyAddon`), in one transaction. Delivery goes through the outbox,
    /// so it survives restarts and is retried until each add-on acknowledges.
    public func requestErasure(
        accountID: String, subject: ErasureSubject, origin: String, onlyAddon: String? = nil
    ) async throws -> ErasureStatus {
        let id = Identifier.make("er")
        let now = clock.now().epochMillis
        let order = try JSONEncoder().encode(
            ErasureOrder(requestID: id, subjectKind: subject.kind, value: subject.value))
        let loaded = Set(registry.manifests.map(\.id))
        let commitWakeups = self.commitWakeups
        try await writer.write { db in
            // Identifiers travel in usage.to and usage.from; an account's data in any field.
            let identifierFilter =
                subject == .account ? "" : "AND (fields LIKE '%usage.to:%' OR fields LIKE '%usage.from:%')"
            var targets = try String.fetchAll(
                db,
                sql:
                    "SELECT DISTINCT addon_id FROM ledger WHERE account_id = ? AND event_type != 'erasure' \(identifierFilter)",
                arguments: [accountID])
            if let onlyAddon { targets = targets.contains(onlyAddon) ? [onlyAddon] : [] }
            try db.execute(
                sql: """
                    INSERT INTO erasure_requests (id, account_id, subject_kind, subject_value, origin, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [id, accountID, subject.kind, subject.value, origin, now])
            for addon in targets.sorted() {
                let available = loaded.contains(addon)
                try db.execute(
                    sql:
                        "INSERT INTO erasure_tasks (request_id, addon_id, state, detail, updated_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        id, addon, "pending",
                        available ? nil : "the add-on is not loaded; the request waits until it is", now,
                    ])
                try db.execute(
                    sql: "INSERT INTO addon_outbox (addon_id, account_id, event, kind) VALUES (?, ?, ?, 'erase')",
                    arguments: [addon, accountID, order])
            }
            commitWakeups.wake(targets, after: db)
        }
        return try await erasureStatus(id: id, accountID: accountID)!
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
                    addonID: $0["addon_id"], state: $0["state"], attempts: $0["attempts"], detail: $0["detail"],
                    updatedAt: $0["updated_at"])
            }
            return ErasureStatus(
                id: request["id"], accountID: request["account_id"], subjectKind: request["subject_kind"],
                subjectValue: request["subject_value"], origin: request["origin"], createdAt: request["created_at"],
                tasks: tasks)
        }
    }
}
