import GRDB
import GRDBSQLite

/// A status change's `UPDATE … RETURNING`, read straight from SQLite.
///
/// Fetching it as a GRDB `Row` built a dictionary of the twenty column names and copied every value
/// before the message was read from it; two changes per message made that a visible share
/// of the delivery path. The statement still comes from (and goes back to) GRDB's statement cache.
package struct ChangedMessage {
    package var message: Message
    /// The account's `content_mode`, the column after `Message.columns`.
    package var contentMode: ContentMode

    /// Runs `statement`, which must return `Message.columns` and then the content mode, and returns
    /// its first row (nil when nothing changed).
    package static func fetch(_ statement: Statement, arguments: StatementArguments) throws -> ChangedMessage? {
        statement.setUncheckedArguments(arguments)
        let sqlite = statement.sqliteStatement
        defer { sqlite3_reset(sqlite) }
        var changed: ChangedMessage?
        while true {
            switch sqlite3_step(sqlite) {
            case SQLITE_ROW:
                if changed == nil { changed = read(sqlite) }
            case SQLITE_DONE:
                return changed
            case let code:
                throw statement.error(code)
            }
        }
    }

    private static func read(_ row: OpaquePointer) -> ChangedMessage {
        ChangedMessage(
            message: Message(columnsOf: row),
            contentMode: ContentMode(rawValue: SQLiteColumns(row).text(Int32(Message.Column.allCases.count)) ?? "")
                ?? .store)
    }
}
