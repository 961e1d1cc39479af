import GRDB
import GRDBSQLite

/// A status change's `UPDATE … RETURNING`, read straight from SQLite.
///
/// Fetching it as a GRDB `Row` built a dictionary of the nineteen column names and copied every value
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
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code),
                    message: String(cString: sqlite3_errmsg(sqlite3_db_handle(sqlite))), sql: statement.sql)
            }
        }
    }

    private static func read(_ row: OpaquePointer) -> ChangedMessage {
        ChangedMessage(
            message: Message(columnsOf: row),
            contentMode: ContentMode(rawValue: SQLiteColumns(row).text(18) ?? "") ?? .store)
    }
}

/// Typed reads of the current row of a stepped SQLite statement.
struct SQLiteColumns {
    let row: OpaquePointer

    init(_ row: OpaquePointer) { self.row = row }

    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(row, column) else { return nil }
        return String(
            decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(row, column))), as: UTF8.self)
    }

    func integer(_ column: Int32) -> Int64? {
        sqlite3_column_type(row, column) == SQLITE_NULL ? nil : sqlite3_column_int64(row, column)
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
    }
}

/// Binds values to a cached statement's parameters straight through SQLite, then runs it once.
///
/// For the rows written many times per message (ledger rows): `StatementArguments` boxes every value
/// and checks the count on each execution, a visible share of the writer's time.
struct SQLiteInsert {
    private let statement: Statement
    private var index: Int32 = 0

    init(_ statement: Statement) {
        self.statement = statement
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
    }

    mutating func bind(_ value: Int64) {
        index += 1
        sqlite3_bind_int64(statement.sqliteStatement, index, value)
    }

    mutating func bind(_ value: String?) {
        index += 1
        guard let value else {
            sqlite3_bind_null(statement.sqliteStatement, index)
            return
        }
        // SQLITE_TRANSIENT: SQLite copies the text before `withCString` returns.
        value.withCString { text in
            _ = sqlite3_bind_text(
                statement.sqliteStatement, index, text, Int32(value.utf8.count),
                unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
    }

    /// Runs the statement with what was bound.
    func execute() throws {
        let sqlite = statement.sqliteStatement
        defer { sqlite3_reset(sqlite) }
        let code = sqlite3_step(sqlite)
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: String(cString: sqlite3_errmsg(sqlite3_db_handle(sqlite))), sql: statement.sql)
        }
    }
}
