import Foundation
import SwitchboardAddons
import SwitchboardCore

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
        let shares = ShareView.views(of: entries)
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
