import Foundation
import GRDB

/// The activity log (one row per API request) and per-day message usage.
public struct UsageStore: Sendable {
    let writer: GroupCommitWriter
    package let clock: any WallClock
    let events: any DomainEventSink
    private let pending = PendingWrites<RequestRecord>()

    package init(writer: GroupCommitWriter, clock: any WallClock, events: any DomainEventSink) {
        self.writer = writer
        self.clock = clock
        self.events = events
    }

    public struct RequestRecord: Sendable {
        public var at: Date
        public var accountID: String?
        public var method: String
        public var path: String
        public var status: Int
        public var latencyMicros: Int64
        public var ip: String?

        package init(
            at: Date, accountID: String?, method: String, path: String, status: Int, latencyMicros: Int64,
            ip: String?
        ) {
            self.at = at
            self.accountID = accountID
            self.method = method
            self.path = path
            self.status = status
            self.latencyMicros = latencyMicros
            self.ip = ip
        }
    }

    /// Batched with other writes; a crash may lose the last few log rows, never a message. Rows
    /// logged while the writer is busy go in together, as one request to the writer.
    public func log(_ record: RequestRecord) {
        guard pending.add(record) else { return }
        let events = self.events
        let pending = self.pending
        writer.writeDetached { db in
            for record in pending.take() {
                if let accountID = record.accountID {
                    try events.publish(db, .apiRequest, accountID: accountID) {
                        .apiRequest(record, accountID: accountID)
                    }
                }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO request_logs (at, account_id, method, path, status, latency_us, ip)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    record.at.epochMillis, record.accountID, record.method, record.path, record.status,
                    record.latencyMicros, record.ip,
                ])
            }
        }
    }

    public struct LoggedRequest: Sendable, FetchableRecord, Equatable {
        public var id: Int64
        public var at: Int64
        public var method: String
        public var path: String
        public var status: Int
        public var latencyMicros: Int64
        public var ip: String?

        public init(row: Row) throws {
            id = row["id"]
            at = row["at"]
            method = row["method"]
            path = row["path"]
            status = row["status"]
            latencyMicros = row["latency_us"]
            ip = row["ip"]
        }
    }

    public func requests(accountID: String, beforeID: Int64?, limit: Int) async throws -> [LoggedRequest] {
        try await writer.pool.read { db in
            try LoggedRequest.fetchAll(
                db.cachedStatement(
                    sql: "SELECT * FROM request_logs WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?"),
                arguments: [accountID, beforeID ?? Int64.max, limit])
        }
    }

    /// Whether `id` is a position `requests` may have handed out as a cursor: one of the account's
    /// logged requests, or one older than every request kept (deleted since by retention, so the
    /// list after it is empty).
    public func isPosition(_ id: Int64, accountID: String) async throws -> Bool {
        try await writer.pool.read { db in
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM request_logs WHERE id = ? AND account_id = ?)
                            OR ? < coalesce((SELECT min(id) FROM request_logs), ?)
                        """),
                arguments: [id, accountID, id, id + 1]) ?? false
        }
    }

    public struct Day: Sendable, Equatable {
        public var date: String
        public var messages: [String: Int]
        public var segments: [String: Int]
    }

    /// Messages and segments per UTC day and status, for days in `[from, to]` (both `YYYY-MM-DD`).
    public func daily(accountID: String, from: String, to: String) async throws -> [Day] {
        let range: StatementArguments = [accountID, Self.startMillis(from), Self.startMillis(to) + 86_400_000]
        return try await writer.pool.read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT date(created_at / 1000, 'unixepoch') AS day, status, COUNT(*) AS messages,
                            SUM(segments) AS segments
                        FROM messages WHERE account_id = ? AND created_at >= ? AND created_at < ?
                        GROUP BY day, status ORDER BY day
                        """), arguments: range)
            var days: [Day] = []
            for row in rows {
                let date: String = row["day"]
                if days.last?.date != date { days.append(Day(date: date, messages: [:], segments: [:])) }
                let status: String = row["status"]
                days[days.count - 1].messages[status] = row["messages"]
                days[days.count - 1].segments[status] = row["segments"]
            }
            return days
        }
    }

    static func startMillis(_ day: String) -> Int64 {
        guard let date = try? Date.ISO8601FormatStyle().year().month().day().parse(day) else { return 0 }
        return date.epochMillis
    }

    /// Deletes activity older than `retentionDays`; returns how many rows went.
    @discardableResult
    public func purge(retentionDays: Int) async throws -> Int {
        let cutoff = clock.now().addingTimeInterval(-Double(retentionDays) * 86_400).epochMillis
        return try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM request_logs WHERE at < ?").execute(arguments: [cutoff])
            let logs = db.changesCount
            try db.cachedStatement(sql: "DELETE FROM callbacks WHERE created_at < ? AND state != ?").execute(
                arguments: [cutoff, CallbackState.pending.rawValue])
            return logs + db.changesCount
        }
    }
}
