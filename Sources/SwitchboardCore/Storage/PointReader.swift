import GRDB
import GRDBSQLite
import Synchronization

/// A read-only SQLite connection of its own for single-statement lookups by key on a request's
/// path, run on the caller's thread through statements prepared once.
///
/// An awaited `DatabasePool.read` moves to the reader's dispatch queue and back (two thread
/// wake-ups) and wraps the statement in `BEGIN`, `PRAGMA schema_version` and `COMMIT`, compiled
/// each time. For the opt-out lookup before each pre-send check that cost about 85 µs of CPU per
/// message, 8% of the daemon's samples in the benchmark's scenario A with three add-ons, for a
/// primary-key lookup of a few µs. One statement needs no transaction of its own: SQLite reads it
/// from one snapshot of the write-ahead log, the newest committed when it starts.
///
/// The statement runs on the connection's handle under this type's own lock, not through
/// `DatabaseQueue.read`: GRDB's `DispatchQueue.sync`, its statement bookkeeping, `RowCursor` and
/// `Row` were two thirds of the lookup's samples (136 of 203, about 30 µs per message in that
/// profile), `sqlite3_step` the other third. The connection is still opened and configured by
/// GRDB (read-only, busy timeout), and the lock keeps to SQLite's rule of one thread at a time per
/// connection.
///
/// Callers wait for each other (a lookup holds the connection for microseconds), never for the
/// writer or the pool's readers. Only for statements that read a handful of rows by an index:
/// anything longer belongs on the pool, off the caller's thread.
package final class PointReader: Sendable {
    private let path: String
    private let state = Mutex<Connection?>(nil)

    /// `path` is the database file the pool serves; the connection opens at the first lookup.
    package init(path: String) {
        self.path = path
    }

    /// Runs `sql`, a statement that reads at most one row, with the values `bind` gives its
    /// parameters (in order), and returns `row` applied to the row it found, or nil for none.
    /// - Throws: `DatabaseError` from opening the connection, preparing or stepping `sql`
    ///   (`SQLITE_BUSY` after 0.25 s while SQLite recovers the write-ahead log).
    package func fetchOne<T: Sendable>(
        _ sql: String, bind: (inout SQLiteBindings) -> Void, row: (SQLiteColumns) -> T
    ) throws -> T? {
        try state.withLock { connection -> T? in
            let open = try connection ?? Connection(path: path)
            connection = open
            let statement = try open.statement(sql)
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
            defer { sqlite3_reset(statement) }
            var bindings = SQLiteBindings(statement)
            bind(&bindings)
            switch sqlite3_step(statement) {
            case SQLITE_ROW: return row(SQLiteColumns(statement))
            case SQLITE_DONE: return nil
            case let code: throw open.error(code, sql: sql)
            }
        }
    }

    /// The connection (owned by a GRDB `DatabaseQueue`, which opened and configured it) and the
    /// statements prepared on it. Used only under `PointReader.state`'s lock.
    private final class Connection {
        let queue: DatabaseQueue
        let handle: OpaquePointer
        var statements: [String: OpaquePointer] = [:]

        init(path: String) throws {
            var configuration = Configuration()
            configuration.readonly = true
            // Short: a lookup waits on the caller's thread, one of the few that run every task.
            // A read-only connection meets SQLITE_BUSY only while SQLite recovers the write-ahead
            // log; the lookup then fails (the send is refused, nothing reaches an add-on) rather
            // than hold that thread for seconds.
            configuration.busyMode = .timeout(0.25)
            configuration.label = "switchboard.point-reader"
            queue = try DatabaseQueue(path: path, configuration: configuration)
            guard let handle = queue.inDatabase({ $0.sqliteConnection }) else {
                throw DatabaseError(resultCode: .SQLITE_CANTOPEN, message: "the point reader's connection is closed")
            }
            self.handle = handle
        }

        func statement(_ sql: String) throws -> OpaquePointer {
            if let statement = statements[sql] { return statement }
            var statement: OpaquePointer?
            let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
            guard code == SQLITE_OK, let statement else { throw error(code, sql: sql) }
            statements[sql] = statement
            return statement
        }

        func error(_ code: Int32, sql: String) -> DatabaseError {
            DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(handle)), sql: sql)
        }

        // GRDB closes the connection once the queue goes; statements left unfinalized would keep it open.
        deinit {
            for statement in statements.values { sqlite3_finalize(statement) }
        }
    }
}
