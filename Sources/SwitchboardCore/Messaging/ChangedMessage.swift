import GRDB
import GRDBSQLite

/// A status change's `UPDATE … RETURNING`, read straight from SQLite.
///
/// Fetching it as a GRDB `Row` built a dictionary of the twenty column names and copied every value
/// before the message was read from it; two changes per message made that a visible share
/// of the delivery path. The statement still comes from (and goes back to) GRDB's statement cache.
struct ChangedMessage {
    var message: Message
    /// The account's `content_mode`, the column after `Message.columns`.
    var contentMode: ContentMode

    /// Runs `statement`, which must return `Message.columns` and then the content mode, and returns
    /// its first row (nil when nothing changed).
    static func fetch(_ statement: Statement, arguments: StatementArguments) throws -> ChangedMessage? {
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
            contentMode: ContentMode(rawValue: SQLiteColumns(row).text(19) ?? "") ?? .store)
    }
}

extension Message {
    /// The current row of a statement that returns exactly `Message.columns` first.
    init(columnsOf row: OpaquePointer) {
        let columns = SQLiteColumns(row)
        seq = columns.integer(0) ?? 0
        id = columns.text(1) ?? ""
        accountID = columns.text(2) ?? ""
        direction = MessageDirection(rawValue: columns.text(3) ?? "") ?? .outbound
        to = columns.text(4) ?? ""
        from = columns.text(5) ?? ""
        body = columns.text(6)
        bodyDigest = columns.text(7)
        encoding = columns.text(8) ?? ""
        segments = Int(columns.integer(9) ?? 0)
        status = MessageStatus(rawValue: columns.text(10) ?? "") ?? .failed
        errorCode = columns.integer(11).map { Int($0) }
        errorMessage = columns.text(12)
        statusCallback = columns.text(13)
        createdAt = columns.integer(14) ?? 0
        sentAt = columns.integer(15)
        completedAt = columns.integer(16)
        updatedAt = columns.integer(17) ?? 0
        statusCallbackEvents = CallbackEvents(storedValue: columns.integer(18))
    }
}
