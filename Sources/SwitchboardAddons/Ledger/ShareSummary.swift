import Foundation
import GRDB
import SwitchboardCore

/// Ledger aggregates: per account (what the customer sees) and per add-on × category × day (operators).
public enum ShareSummary {
    public struct AddonShares: Sendable, Equatable, Encodable {
        public var addonId: String
        public var addonVersions: [String]
        public var shares: Int
        public var fields: [String: Int]
        public var consentReceiptIds: [String]
        public var firstAt: String?
        public var lastAt: String?
        public var erasureReceipts: Int
    }

    /// Every add-on that received this account's data: which fields, how often (in events, not ledger
    /// records), under which consent.
    public static func forAccount(_ db: Database, accountID: String) throws -> [AddonShares] {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT addon_id, addon_version, event_type, fields, consent_id, SUM(\(Ledger.eventCountSQL)) AS n, MIN(at) AS first_at, MAX(at) AS last_at
                FROM ledger WHERE account_id = ? GROUP BY addon_id, addon_version, event_type, fields, consent_id
                """, arguments: [accountID])
        var byAddon: [String: AddonShares] = [:]
        for row in rows {
            let addonID: String = row["addon_id"]
            let count: Int = row["n"]
            var entry =
                byAddon[addonID]
                ?? AddonShares(
                    addonId: addonID, addonVersions: [], shares: 0, fields: [:], consentReceiptIds: [], firstAt: nil,
                    lastAt: nil,
                    erasureReceipts: 0)
            let version: String = row["addon_version"]
            if !entry.addonVersions.contains(version) { entry.addonVersions.append(version) }
            if (row["event_type"] as String) == Ledger.erasureEventType {
                entry.erasureReceipts += count
            } else {
                entry.shares += count
                let fields: String = row["fields"]
                for field in fields.split(separator: ",") { entry.fields[String(field), default: 0] += count }
                if let consent: String = row["consent_id"], !entry.consentReceiptIds.contains(consent) {
                    entry.consentReceiptIds.append(consent)
                }
            }
            let first: Int64 = row["first_at"]
            let last: Int64 = row["last_at"]
            entry.firstAt = min(entry.firstAt ?? Timestamp.string(first)!, Timestamp.string(first)!)
            entry.lastAt = max(entry.lastAt ?? Timestamp.string(last)!, Timestamp.string(last)!)
            byAddon[addonID] = entry
        }
        return byAddon.values.sorted { $0.addonId < $1.addonId }
    }

    public struct DayCount: Sendable, Equatable, Encodable {
        public var addonId: String
        public var category: String
        public var day: String
        public var shares: Int
    }

    /// Shares per add-on × category × UTC day (a share that carries two categories counts in both).
    public static func perDay(_ db: Database, _ query: Ledger.Query) throws -> [DayCount] {
        var clauses: [String] = ["event_type != 'erasure'"]
        var arguments: StatementArguments = []
        if let addon = query.addonID { clauses.append("addon_id = ?"); arguments += [addon] }
        if let account = query.accountID { clauses.append("account_id = ?"); arguments += [account] }
        if let since = query.since { clauses.append("at >= ?"); arguments += [since] }
        if let until = query.until { clauses.append("at < ?"); arguments += [until] }
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT addon_id, date(at / 1000, 'unixepoch') AS day, fields, SUM(\(Ledger.eventCountSQL)) AS n FROM ledger
                WHERE \(clauses.joined(separator: " AND ")) GROUP BY addon_id, day, fields
                """, arguments: arguments)
        var counts: [String: DayCount] = [:]
        for row in rows {
            let fields: String = row["fields"]
            let categories = Set(
                fields.split(separator: ",").compactMap { $0.split(separator: ".").first.map(String.init) })
            for category in categories {
                if let wanted = query.category, wanted.rawValue != category { continue }
                let key = "\(row["addon_id"] as String)|\(category)|\(row["day"] as String)"
                var entry =
                    counts[key] ?? DayCount(addonId: row["addon_id"], category: category, day: row["day"], shares: 0)
                entry.shares += row["n"] as Int
                counts[key] = entry
            }
        }
        return counts.values.sorted { ($0.day, $0.addonId, $0.category) < ($1.day, $1.addonId, $1.category) }
    }
}
