import Foundation
import GRDB

extension Daemon {
    public func ledgerEntries(_ query: Ledger.Query) async throws -> [LedgerEntry] {
        try await addons.writer.pool.read { db in try Ledger.query(db, query) }
    }

    public func shareSummary(_ query: Ledger.Query) async throws -> [ShareSummary.DayCount] {
        try await addons.writer.pool.read { db in try ShareSummary.perDay(db, query) }
    }

    /// The data-subject access report of an account as pretty JSON, or nil when there is no such account.
    public func accessReport(accountID: String) async throws -> String? {
        let now = clock.now()
        let report = try await addons.writer.pool.read { db in
            try DataSubjectReport.build(db, accountID: accountID, now: now)
        }
        guard let report else { return nil }
        let encoder = SnakeCaseJSON.encoder(pretty: true)
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    public func checkpoints() async throws -> [Checkpoint] {
        try await addons.writer.pool.read { db in
            try Checkpoint.fetchAll(db, sql: "SELECT * FROM ledger_checkpoints ORDER BY id")
        }
    }

    /// Verifies the chain and every checkpoint, stored and exported (from `checkpointDirectory`).
    public func verifyLedger(checkpointDirectory: String? = nil) async throws -> LedgerVerifier.Outcome {
        let external = try checkpointDirectory.map(LedgerVerifier.loadExported(directory:)) ?? []
        let key = ledger.publicKey
        return try await addons.writer.pool.read { db in try LedgerVerifier.verify(db, external: external, hostKey: key)
        }
    }
}

extension AuditFormatter {
    public static func render(summary: [ShareSummary.DayCount], format: String) -> String {
        switch format {
        case "json", "ndjson":
            let encoder = SnakeCaseJSON.encoder()
            if format == "json" {
                return String(decoding: (try? encoder.encode(summary)) ?? Data(), as: UTF8.self) + "\n"
            }
            return summary.map { String(decoding: (try? encoder.encode($0)) ?? Data(), as: UTF8.self) + "\n" }.joined()
        case "csv":
            return
                (["day,addon_id,category,shares"]
                + summary.map { "\($0.day),\($0.addonId),\($0.category),\($0.shares)" })
                .joined(separator: "\n") + "\n"
        default:
            return
                (["DAY         ADD-ON                            CATEGORY  SHARES"]
                + summary.map { "\($0.day)  \($0.addonId)  \($0.category)  \($0.shares)" }).joined(separator: "\n")
                + "\n"
        }
    }
}

/// Ledger rows for people (table) and machines (JSON, CSV, NDJSON).
public enum AuditFormatter {
    public static func render(_ entries: [LedgerEntry], format: String) -> String {
        let shares = entries.map(ShareView.init)
        switch format {
        case "json":
            let encoder = SnakeCaseJSON.encoder(pretty: true)
            return String(decoding: (try? encoder.encode(shares)) ?? Data("[]".utf8), as: UTF8.self) + "\n"
        case "ndjson":
            let encoder = SnakeCaseJSON.encoder()
            return shares.map { String(decoding: (try? encoder.encode($0)) ?? Data(), as: UTF8.self) + "\n" }.joined()
        case "csv":
            let rows = AuditOutput.rows(shares)
            let columns = [
                "seq", "at", "addon_id", "addon_version", "account_id", "event_id", "event_type", "fields",
                "consent_receipt_id", "hash",
            ]
            return
                ([columns.joined(separator: ",")]
                + rows.map { row in columns.map { CSVResponse.quote("\(row[$0] ?? "")") }.joined(separator: ",") })
                .joined(separator: "\n") + "\n"
        default:
            var lines = [
                "SEQ  TIME                      ADD-ON                            ACCOUNT          EVENT            FIELDS"
            ]
            for share in shares {
                let fields = share.fields.keys.sorted().map { "\($0)(\(share.fields[$0]!))" }.joined(separator: " ")
                lines.append(
                    "\(share.seq)  \(share.at ?? "")  \(share.addonId)  \(share.accountId)  \(share.eventType)  \(fields)"
                )
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }
}
