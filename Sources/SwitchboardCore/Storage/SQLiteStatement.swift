import Foundation
import GRDB
import GRDBSQLite

extension Statement {
    /// The error for a result code from stepping this statement by hand, as GRDB would report it.
    func error(_ code: Int32) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code),
            message: String(cString: sqlite3_errmsg(sqlite3_db_handle(sqliteStatement))), sql: sql)
    }
}

/// Typed reads of the current row of a stepped SQLite statement.
package struct SQLiteColumns {
    let row: OpaquePointer

    init(_ row: OpaquePointer) { self.row = row }

    package func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(row, column) else { return nil }
        return String(
            decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(row, column))), as: UTF8.self)
    }

    package func integer(_ column: Int32) -> Int64? {
        sqlite3_column_type(row, column) == SQLITE_NULL ? nil : sqlite3_column_int64(row, column)
    }
}

/// Values bound by hand to a prepared statement's parameters, in order (`?1`, `?2`, …).
///
/// For statements run many times per message: `StatementArguments` boxes every value and checks
/// the count on each execution, a visible share of the writer's time.
package struct SQLiteBindings {
    private let statement: OpaquePointer
    private var index: Int32 = 0

    /// `statement` has been reset; its bindings start at the first parameter.
    init(_ statement: OpaquePointer) { self.statement = statement }

    package mutating func bind(_ value: Int64) {
        index += 1
        sqlite3_bind_int64(statement, index, value)
    }

    package mutating func bind(_ value: String?) {
        index += 1
        guard let value else {
            sqlite3_bind_null(statement, index)
            return
        }
        // SQLITE_TRANSIENT: SQLite copies the text before `withCString` returns.
        value.withCString { text in
            _ = sqlite3_bind_text(statement, index, text, Int32(value.utf8.count), SQLiteBindings.transient)
        }
    }

    /// Binds `value` as a BLOB (an empty one, not NULL, when it has no bytes).
    package mutating func bind(_ value: Data) {
        index += 1
        // An empty value has no bytes to point at, and a NULL pointer would bind SQL NULL: an empty
        // BLOB is bound as a zero-length zeroblob instead.
        guard !value.isEmpty else {
            _ = sqlite3_bind_zeroblob(statement, index, 0)
            return
        }
        value.withUnsafeBytes { bytes in
            _ = sqlite3_bind_blob(statement, index, bytes.baseAddress, Int32(bytes.count), SQLiteBindings.transient)
        }
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// Binds values to a cached statement's parameters straight through SQLite, then runs it once
/// (rows written many times per message: ledger rows, the event log).
package struct SQLiteInsert {
    private let statement: Statement
    private var bindings: SQLiteBindings

    package init(_ statement: Statement) {
        self.statement = statement
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
        bindings = SQLiteBindings(statement.sqliteStatement)
    }

    package mutating func bind(_ value: Int64) { bindings.bind(value) }
    package mutating func bind(_ value: String?) { bindings.bind(value) }
    package mutating func bind(_ value: Data) { bindings.bind(value) }

    /// Runs the statement with what was bound.
    package func execute() throws {
        let sqlite = statement.sqliteStatement
        defer { sqlite3_reset(sqlite) }
        let code = sqlite3_step(sqlite)
        guard code == SQLITE_DONE else {
            throw statement.error(code)
        }
    }
}
