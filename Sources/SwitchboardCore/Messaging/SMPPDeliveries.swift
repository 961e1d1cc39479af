import Foundation
import GRDB

/// What is owed to customers' SMPP receiver binds (`smpp_deliveries`): receipts asked for with
/// `registered_delivery` once their message is final, and inbound messages. A row goes when a
/// receiver acknowledged it (`deliver_sm_resp`), so nothing is lost while no receiver is bound or
/// the daemon restarts.
public struct SMPPDeliveries: Sendable {
    let writer: GroupCommitWriter
    let clock: any WallClock

    package init(writer: GroupCommitWriter, clock: any WallClock) {
        self.writer = writer
        self.clock = clock
    }

    /// One `deliver_sm` to send.
    public struct Pending: Sendable, Equatable {
        public enum Kind: String, Sendable { case receipt, inbound }
        public var id: Int64
        public var kind: Kind
        public var messageID: String
        /// For a receipt, 2: only when the message failed (SMPP 3.4 §5.2.17).
        public var registeredDelivery: Int
        /// The message's numbers as stored (E.164 or a sender id).
        public var to: String
        public var from: String
        public var status: MessageStatus
        public var errorCode: Int?
        public var body: String?
        public var createdAt: Int64
        public var completedAt: Int64?
    }

    /// The oldest deliveries due for `accountID`: inbound messages, and receipts of messages whose
    /// status is final. Receipts of failure-only requests for delivered messages are settled here
    /// without a `deliver_sm`.
    public func due(accountID: String, limit: Int) async throws -> [Pending] {
        let rows: [Pending] = try await writer.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.id, d.kind, d.message_id, d.registered_delivery, d.body AS held_body, m.to_number,
                        m.from_number, m.status, m.error_code, m.created_at, m.completed_at
                    FROM smpp_deliveries d JOIN messages m ON m.id = d.message_id
                    WHERE d.account_id = ? AND d.delivered_at IS NULL
                        AND (d.kind = 'inbound' OR m.status IN ('delivered', 'undelivered', 'failed'))
                    ORDER BY d.id LIMIT ?
                    """, arguments: [accountID, limit]
            ).map {
                Pending(
                    id: $0["id"], kind: Pending.Kind(rawValue: $0["kind"]) ?? .receipt, messageID: $0["message_id"],
                    registeredDelivery: $0["registered_delivery"], to: $0["to_number"], from: $0["from_number"],
                    status: MessageStatus(rawValue: $0["status"]) ?? .failed, errorCode: $0["error_code"],
                    body: $0["held_body"], createdAt: $0["created_at"], completedAt: $0["completed_at"])
            }
        }
        let skipped = rows.filter { $0.kind == .receipt && $0.registeredDelivery == 2 && $0.status == .delivered }
        if !skipped.isEmpty { try await settle(skipped.map(\.id)) }
        return rows.filter { !skipped.map(\.id).contains($0.id) }
    }

    /// Marks deliveries done (a receiver acknowledged them); a held inbound body is dropped.
    public func settle(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        let now = clock.now().epochMillis
        try await writer.write { db in
            let statement = try db.cachedStatement(
                sql: "UPDATE smpp_deliveries SET delivered_at = ?, body = NULL WHERE id = ?")
            for id in ids { try statement.execute(arguments: [now, id]) }
        }
    }

    /// Settles deliveries the receiver refused for good, keeping each one's `command_status`
    /// (SMPP 3.4 §5.1.3) in `refused_status`; a held inbound body is dropped.
    public func refuse(_ refusals: [(id: Int64, status: UInt32)]) async throws {
        guard !refusals.isEmpty else { return }
        let now = clock.now().epochMillis
        try await writer.write { db in
            let statement = try db.cachedStatement(
                sql: "UPDATE smpp_deliveries SET delivered_at = ?, body = NULL, refused_status = ? WHERE id = ?")
            for refusal in refusals { try statement.execute(arguments: [now, Int64(refusal.status), refusal.id]) }
        }
    }

    /// Accounts with deliveries waiting, among `accountIDs`.
    public func accountsWithDue(among accountIDs: [String]) async throws -> Set<String> {
        guard !accountIDs.isEmpty else { return [] }
        return try await writer.pool.read { db in
            var due = Set<String>()
            let statement = try db.cachedStatement(
                sql: "SELECT 1 FROM smpp_deliveries WHERE account_id = ? AND delivered_at IS NULL LIMIT 1")
            for account in accountIDs where try Bool.fetchOne(statement, arguments: [account]) == true {
                due.insert(account)
            }
            return due
        }
    }
}
