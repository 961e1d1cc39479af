import Foundation
import GRDB
import Prometheus
import SwitchboardCore
import Synchronization

/// What add-ons emit through the host (report rows, alerts, metrics), stored per account.
public struct AddonRecord: Sendable, Equatable, FetchableRecord {
    public var id: Int64
    public var addonID: String
    public var accountID: String
    public var kind: String
    public var key: String?
    public var json: String
    public var at: Int64

    public init(row: Row) throws {
        id = row["id"]
        addonID = row["addon_id"]
        accountID = row["account_id"]
        kind = row["kind"]
        key = row["key"]
        json = row["json"]
        at = row["at"]
    }
}

public final class AddonRecordStore: Sendable {
    static let kinds: Set<String> = ["report", "alert", "metric"]
    let writer: GroupCommitWriter
    let clock: any WallClock
    let registry: PrometheusCollectorRegistry
    /// Keyed records waiting for the writer, latest value only.
    let latest = Mutex<[KeyedSlot: (json: String, at: Int64)]>([:])

    init(writer: GroupCommitWriter, clock: any WallClock, registry: PrometheusCollectorRegistry) {
        self.writer = writer
        self.clock = clock
        self.registry = registry
    }

    /// Stores an emitted record; false when it is malformed. Metrics also become Prometheus gauges
    /// `switchboard_addon_metric_<name>{addon, account}` (a subsystem of their own, so an add-on cannot clash with the host's metrics).
    func store(_ record: EmittedRecord) -> Bool {
        guard Self.kinds.contains(record.kind),
            case .object(let object)? = try? JSONParser.parse(Array(record.json.utf8))
        else { return false }
        if record.kind == "metric" {
            guard case .string(let name)? = object["name"], case .number(let value)? = object["value"],
                name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !name.isEmpty
            else { return false }
            gauge(name: name, addonID: record.addonID, accountID: record.accountID).set(value)
        }
        let now = clock.now().epochMillis
        guard let key = record.key else {
            writer.writeDetached { db in
                try db.cachedStatement(
                    sql: "INSERT INTO addon_records (addon_id, account_id, kind, json, at) VALUES (?, ?, ?, ?, ?)"
                ).execute(arguments: [record.addonID, record.accountID, record.kind, record.json, now])
            }
            return true
        }
        // A keyed record replaces its predecessor, so emits of one key between two writer batches
        // (a metric updated on every request) become one upsert carrying the latest value.
        let slot = KeyedSlot(addonID: record.addonID, accountID: record.accountID, kind: record.kind, key: key)
        let first = latest.withLock { latest in
            defer { latest[slot] = (record.json, now) }
            return latest[slot] == nil
        }
        guard first else { return true }
        writer.writeDetached { [self] db in
            guard let (json, at) = self.latest.withLock({ $0.removeValue(forKey: slot) }) else { return }
            try db.cachedStatement(
                sql: """
                    INSERT INTO addon_records (addon_id, account_id, kind, key, json, at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (addon_id, account_id, kind, key) WHERE key IS NOT NULL
                    DO UPDATE SET json = excluded.json, at = excluded.at
                    """
            ).execute(arguments: [slot.addonID, slot.accountID, slot.kind, slot.key, json, at])
        }
        return true
    }

    struct KeyedSlot: Hashable, Sendable {
        var addonID: String
        var accountID: String
        var kind: String
        var key: String
    }

    /// The registry returns the existing gauge for a name and label set.
    private func gauge(name: String, addonID: String, accountID: String) -> Gauge {
        // A subsystem of their own: an add-on's name can never clash with the host's own metrics.
        registry.makeGauge(
            descriptor: .init(
                namespace: "switchboard", subsystem: "addon_metric", metricName: name, unitName: "",
                helpText: "Emitted by an add-on"),
            labels: [("addon", addonID), ("account", accountID)])
    }

    public func records(accountID: String, addonID: String, kind: String, limit: Int = 1000) async throws
        -> [AddonRecord]
    {
        try await writer.pool.read { db in
            try AddonRecord.fetchAll(
                db,
                sql:
                    "SELECT * FROM addon_records WHERE account_id = ? AND addon_id = ? AND kind = ? ORDER BY key, id LIMIT ?",
                arguments: [accountID, addonID, kind, limit])
        }
    }
}
