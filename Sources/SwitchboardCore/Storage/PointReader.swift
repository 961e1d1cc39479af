import GRDB
import Synchronization

/// A read-only SQLite connection of its own for single-statement lookups by key on a request's
/// path, run on the caller's thread.
///
/// An awaited `DatabasePool.read` moves to the reader's dispatch queue and back (two thread
/// wake-ups) and wraps the statement in `BEGIN`, `PRAGMA schema_version` and `COMMIT`, compiled
/// each time. For the opt-out lookup before each pre-send check that cost about 85 µs of CPU per
/// message, 8% of the daemon's samples in the benchmark's scenario A with three add-ons, for a
/// primary-key lookup of a few µs. One statement needs no transaction of its own: SQLite reads it
/// from one snapshot of the write-ahead log, the newest committed when it starts.
///
/// Callers wait for each other (a lookup holds the connection for microseconds), never for the
/// writer or the pool's readers. Only for statements that read a handful of rows by an index:
/// anything longer belongs on the pool, off the caller's thread.
package final class PointReader: Sendable {
    private let path: String
    private let connection = Mutex<DatabaseQueue?>(nil)

    /// `path` is the database file the pool serves; the connection opens at the first lookup.
    package init(path: String) {
        self.path = path
    }

    /// Runs `body`, one read statement, on the calling thread.
    /// - Throws: what opening the connection or `body` throws (`DatabaseError`).
    package func read<T>(_ body: (Database) throws -> T) throws -> T {
        try queue().unsafeRead(body)
    }

    private func queue() throws -> DatabaseQueue {
        try connection.withLock { connection in
            if let connection { return connection }
            var configuration = Configuration()
            configuration.readonly = true
            // Short: a lookup waits on the caller's thread, one of the few that run every task.
            // A read-only connection meets SQLITE_BUSY only while SQLite recovers the write-ahead
            // log; the lookup then fails (the send is refused, nothing reaches an add-on) rather
            // than hold that thread for seconds.
            configuration.busyMode = .timeout(0.25)
            configuration.label = "switchboard.point-reader"
            let opened = try DatabaseQueue(path: path, configuration: configuration)
            connection = opened
            return opened
        }
    }
}
