import Foundation
import GRDB

/// Inbound keywords that change a number's consent to receive messages (CTIA and carrier conventions).
public enum OptOutKeyword {
    static let stop: Set<String> = ["STOP", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "OPTOUT", "STOPALL"]
    static let start: Set<String> = ["START", "UNSTOP"]

    public enum Action: String, Sendable, Codable {
        case optedOut = "opted_out"
        case optedIn = "opted_in"
    }

    package static func action(for body: String) -> (Action, String)? {
        let word = body.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters)).uppercased()
        if stop.contains(word) { return (.optedOut, word) }
        if start.contains(word) { return (.optedIn, word) }
        return nil
    }
}

public struct OptOut: Sendable, Equatable, FetchableRecord {
    public var number: String
    public var keyword: String
    public var createdAt: Int64

    public init(row: Row) throws {
        number = row["number"]
        keyword = row["keyword"]
        createdAt = row["created_at"]
    }
}

extension MessageStore {
    public func optOuts(accountID: String) async throws -> [OptOut] {
        try await writer.pool.read { db in
            try OptOut.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM opt_outs WHERE account_id = ? ORDER BY created_at DESC"),
                arguments: [accountID])
        }
    }
}
