import Foundation
import GRDB
import SwitchboardCore

/// The data-subject access report: what the platform holds about an account and which add-ons
/// received what, under which consent, and where each erasure request stands.
public struct DataSubjectReport: Encodable, Sendable {
    struct Profile: Encodable {
        var id: String
        var name: String?
        var email: String?
        var company: String?
        var status: String
        var contentMode: String
        var createdAt: String?
        var lastLoginAt: String?
        var lastLoginIp: String?
    }

    struct Held: Encodable {
        var messagesByDirectionAndStatus: [String: Int]
        var messagesWithBodies: Int
        var contacts: Int
        var numbers: [String]
        var optOuts: Int
        var apiRequestsLogged: Int
    }

    struct Consent: Encodable {
        var receiptId: String
        var addonId: String
        var addonVersion: String
        var action: String
        var fields: [String]
        var at: String?
        var actor: String
    }

    struct Erasure: Encodable {
        var id: String
        var subject: String
        var createdAt: String?
        var addons: [String: String]
    }

    var generatedAt: String
    var account: Profile
    var held: Held
    var consents: [Consent]
    var sharedWithAddons: [ShareSummary.AddonShares]
    var erasureRequests: [Erasure]

    public static func build(_ db: Database, accountID: String, now: Date) throws -> DataSubjectReport? {
        guard let account = try Account.fetchOne(db, sql: "SELECT * FROM accounts WHERE id = ?", arguments: [accountID])
        else {
            return nil
        }
        func count(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql, arguments: [accountID]) ?? 0 }
        var messages: [String: Int] = [:]
        for row in try Row.fetchAll(
            db,
            sql:
                "SELECT direction, status, COUNT(*) AS n FROM messages WHERE account_id = ? GROUP BY direction, status",
            arguments: [accountID])
        {
            messages["\(row["direction"] as String).\(row["status"] as String)"] = row["n"]
        }
        let consents = try ConsentRecord.fetchAll(
            db, sql: "SELECT * FROM addon_consents WHERE account_id = ? ORDER BY rev", arguments: [accountID]
        ).map {
            Consent(
                receiptId: $0.id, addonId: $0.addonID, addonVersion: $0.addonVersion, action: $0.action.rawValue,
                fields: $0.fields,
                at: Timestamp.string($0.at), actor: $0.actor)
        }
        let erasures = try Row.fetchAll(
            db, sql: "SELECT * FROM erasure_requests WHERE account_id = ? ORDER BY created_at", arguments: [accountID]
        ).map { request in
            let id: String = request["id"]
            let tasks = try Row.fetchAll(
                db, sql: "SELECT addon_id, state FROM erasure_tasks WHERE request_id = ?", arguments: [id])
            return Erasure(
                id: id, subject: request["subject_kind"], createdAt: Timestamp.string(request["created_at"] as Int64),
                addons: Dictionary(uniqueKeysWithValues: tasks.map { ($0["addon_id"], $0["state"]) }))
        }
        return DataSubjectReport(
            generatedAt: Timestamp.string(now),
            account: Profile(
                id: account.id, name: account.name, email: account.email, company: account.company,
                status: account.status.rawValue,
                contentMode: account.contentMode.rawValue, createdAt: Timestamp.string(account.createdAt),
                lastLoginAt: Timestamp.string(account.lastLoginAt), lastLoginIp: account.lastLoginIP),
            held: Held(
                messagesByDirectionAndStatus: messages,
                messagesWithBodies: try count(
                    "SELECT COUNT(*) FROM messages WHERE account_id = ? AND body IS NOT NULL"),
                contacts: try count("SELECT COUNT(*) FROM contacts WHERE account_id = ?"),
                numbers: try String.fetchAll(
                    db, sql: "SELECT number FROM account_numbers WHERE account_id = ?", arguments: [accountID]),
                optOuts: try count("SELECT COUNT(*) FROM opt_outs WHERE account_id = ?"),
                apiRequestsLogged: try count("SELECT COUNT(*) FROM request_logs WHERE account_id = ?")),
            consents: consents,
            sharedWithAddons: try ShareSummary.forAccount(db, accountID: accountID),
            erasureRequests: erasures)
    }
}
