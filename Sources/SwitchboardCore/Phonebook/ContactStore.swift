import Foundation
import GRDB

/// The account's phonebook.
public struct ContactStore: Sendable {
    let writer: GroupCommitWriter
    let clock: any WallClock

    package init(writer: GroupCommitWriter, clock: any WallClock) {
        self.writer = writer
        self.clock = clock
    }

    public func create(accountID: String, _ fields: ContactFields) async throws -> Contact {
        try await create(accountID: accountID, [fields])[0]
    }

    /// Inserts all contacts in one transaction. One compiled statement returns each row as stored:
    /// the transaction holds the only writer, so every other account's writes wait for it. With a
    /// statement compiled per row and a second query for each, a CSV import of 100,000 contacts
    /// held it for seconds.
    public func create(accountID: String, _ batch: [ContactFields]) async throws -> [Contact] {
        let now = clock.now().epochMillis
        return try await writer.write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO contacts (id, account_id, number, name, notes, groups, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *
                    """)
            return try batch.map { fields in
                let arguments: StatementArguments = [
                    Identifier.make("con"), accountID, fields.number, fields.name, fields.notes, fields.groupsJSON, now,
                    now,
                ]
                return try Contact.fetchOne(insert, arguments: arguments)!
            }
        }
    }

    public func find(accountID: String, id: String) async throws -> Contact? {
        try await writer.pool.read { db in
            try Contact.fetchOne(
                db, sql: "SELECT * FROM contacts WHERE id = ? AND account_id = ?", arguments: [id, accountID])
        }
    }

    public func update(accountID: String, id: String, _ fields: ContactFields) async throws -> Contact? {
        let now = clock.now().epochMillis
        return try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE contacts SET number = ?, name = ?, notes = ?, groups = ?, updated_at = ?
                    WHERE id = ? AND account_id = ?
                    """,
                arguments: [fields.number, fields.name, fields.notes, fields.groupsJSON, now, id, accountID])
            return try Contact.fetchOne(
                db, sql: "SELECT * FROM contacts WHERE id = ? AND account_id = ?", arguments: [id, accountID])
        }
    }

    public struct Query: Sendable {
        /// Matches numbers by prefix and names case-insensitively anywhere.
        public var search: String?
        public var group: String?
        public var afterID: String?
        public var limit = 50

        public init() {}
    }

    /// Ordered by id; pass the last id as `afterID` for the next page.
    public func list(accountID: String, _ query: Query) async throws -> [Contact] {
        var clauses = ["account_id = ?"]
        var arguments: StatementArguments = [accountID]
        if let search = query.search, !search.isEmpty {
            let escaped = search.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            clauses.append("(number LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')")
            arguments += [escaped + "%", "%" + escaped + "%"]
        }
        if let group = query.group {
            clauses.append("EXISTS (SELECT 1 FROM json_each(contacts.groups) WHERE value = ?)")
            arguments += [group]
        }
        if let after = query.afterID { clauses.append("id > ?"); arguments += [after] }
        arguments += [query.limit]
        let sql = "SELECT * FROM contacts WHERE \(clauses.joined(separator: " AND ")) ORDER BY id LIMIT ?"
        let bound = arguments
        return try await writer.pool.read { db in try Contact.fetchAll(db, sql: sql, arguments: bound) }
    }
}
