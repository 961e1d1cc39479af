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

/// Stores what add-ons emit and keeps the per-account Prometheus series of their metrics.
///
/// Metric values name an account, so their gauges live in `accountMetrics`, a registry of their own
/// that only the operator reads (`GET /v1/admin/metrics`), never in the public `/metrics` one. Once
/// an account erasure commits, the account's series are unregistered and nothing more is stored for
/// it. The erasure also withdraws the account's grants, which already stops most emits; this store
/// refuses on its own as well, so neither an emit that passed the consent check just before the
/// erasure committed nor a grant for the erased id recorded by a path that forgets to check the
/// account brings the series or records back.
public final class AddonRecordStore: Sendable {
    static let kinds: Set<String> = ["report", "alert", "metric"]
    let writer: GroupCommitWriter
    let clock: any WallClock
    /// Where per-account gauges go: served to the operator only.
    let accountMetrics: PrometheusCollectorRegistry
    /// Keyed records waiting for the writer, latest value only.
    let latest = Mutex<[KeyedSlot: (json: String, at: Int64)]>([:])
    /// Every gauge made per account, so an erasure can unregister them (the registry cannot be
    /// searched by label), and the accounts erased, for which nothing is stored any more.
    private let series: Mutex<AccountSeries>

    struct AccountSeries: Sendable {
        var gauges: [String: [GaugeKey: Gauge]] = [:]
        var erased: Set<String>
    }

    struct GaugeKey: Hashable, Sendable {
        var addonID: String
        var name: String
    }

    /// Reads the accounts already erased (synchronously: the daemon is not serving yet), so that an
    /// event still in an outbox after a restart cannot recreate an erased account's series.
    init(writer: GroupCommitWriter, clock: any WallClock, accountMetrics: PrometheusCollectorRegistry) throws {
        self.writer = writer
        self.clock = clock
        self.accountMetrics = accountMetrics
        let erased = try writer.pool.read { db in
            try String.fetchSet(db, sql: Self.erasedAccountsSQL, arguments: [ErasureSubject.Kind.account.rawValue])
        }
        series = Mutex(AccountSeries(erased: erased))
    }

    private static let erasedAccountsSQL = "SELECT DISTINCT account_id FROM erasure_requests WHERE subject_kind = ?"

    /// Drops an erased account's metric series from `accountMetrics` and refuses every later record
    /// for it (metrics, reports, alerts), also keyed records still waiting for the writer.
    ///
    /// Call it once the erasure committed (`Database.afterNextTransaction(onCommit:)`), passing the
    /// connection that committed it. The erasure ran in a savepoint of a group commit that can
    /// commit without it; `db` confirms the account's erasure request is really stored first, so a
    /// rolled-back erasure leaves a live account's series alone. When that cannot be read, the series
    /// are dropped anyway: losing a gauge is cheaper than keeping an erased account's.
    public func forgetAccountSeries(_ accountID: String, committedIn db: Database) {
        do {
            let stored = try Int.fetchOne(
                db.cachedStatement(sql: Self.erasureStoredSQL),
                arguments: [accountID, ErasureSubject.Kind.account.rawValue])
            guard stored != nil else { return }
        } catch {
            // Unreadable: dropped anyway (see above).
        }
        forgetAccountSeries(accountID)
    }

    private static let erasureStoredSQL =
        "SELECT 1 FROM erasure_requests WHERE account_id = ? AND subject_kind = ? LIMIT 1"

    /// Drops the account's metric series from `accountMetrics` at once and refuses every later record
    /// for it. For callers that know the account is erased.
    public func forgetAccountSeries(_ accountID: String) {
        let gauges = series.withLock { series in
            series.erased.insert(accountID)
            return series.gauges.removeValue(forKey: accountID) ?? [:]
        }
        for gauge in gauges.values { accountMetrics.unregisterGauge(gauge) }
        // A keyed record queued before the erasure would otherwise be upserted after it.
        latest.withLock { latest in
            for slot in latest.keys where slot.accountID == accountID { latest[slot] = nil }
        }
    }

    /// Stores an emitted record; false when it is malformed or its account was erased. Metrics also
    /// become gauges `switchboard_addon_metric_<name>{addon, account}` in `accountMetrics` (a subsystem
    /// of their own, so an add-on cannot clash with the host's metrics).
    func store(_ record: EmittedRecord) -> Bool {
        guard !series.withLock({ $0.erased.contains(record.accountID) }) else { return false }
        guard Self.kinds.contains(record.kind),
            case .object(let object)? = try? JSONParser.parse(Array(record.json.utf8))
        else { return false }
        if record.kind == "metric" {
            guard case .string(let name)? = object["name"], case .number(let value)? = object["value"],
                name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !name.isEmpty
            else { return false }
            // Nil when the account was erased since the check above.
            guard let gauge = gauge(name: name, addonID: record.addonID, accountID: record.accountID) else {
                return false
            }
            gauge.set(value)
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

    /// The account's gauge for this add-on's metric, made on first use; nil once the account is
    /// erased. Made under the lock that `forgetAccountSeries` takes, so no gauge can appear for an
    /// account after its series were dropped.
    private func gauge(name: String, addonID: String, accountID: String) -> Gauge? {
        let key = GaugeKey(addonID: addonID, name: name)
        return series.withLock { series -> Gauge? in
            guard !series.erased.contains(accountID) else { return nil }
            if let gauge = series.gauges[accountID]?[key] { return gauge }
            // A subsystem of their own: an add-on's name can never clash with the host's own metrics.
            let gauge = accountMetrics.makeGauge(
                descriptor: .init(
                    namespace: "switchboard", subsystem: "addon_metric", metricName: name, unitName: "",
                    helpText: "Emitted by an add-on"),
                labels: [("addon", addonID), ("account", accountID)])
            series.gauges[accountID, default: [:]][key] = gauge
            return gauge
        }
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
