import Foundation
import GRDB

public struct Contact: Sendable, Equatable, FetchableRecord {
    public var id: String
    public var accountID: String
    public var number: String
    public var name: String?
    public var notes: String?
    public var groups: [String]
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(row: Row) throws {
        id = row["id"]
        accountID = row["account_id"]
        number = row["number"]
        name = row["name"]
        notes = row["notes"]
        let groupsJSON: String = row["groups"]
        groups = (try? JSONDecoder().decode([String].self, from: Data(groupsJSON.utf8))) ?? []
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
    }
}
