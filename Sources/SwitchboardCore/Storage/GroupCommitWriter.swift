import Foundation
import GRDB
import Synchronization

/// The one writer: concurrent write requests are batched into a single transaction.
///
/// Each request runs in its own savepoint, so a failing request rolls back alone while the rest of the
/// batch commits. Callers are resumed only after the batch's COMMIT returned, so an acknowledged write
/// is on disk (as far as the configured durability promises).
public final class GroupCommitWriter: Sendable {
    private struct Entry: Sendable {
        /// Runs inside the batch transaction and returns what to do once the batch committed, and
        /// the error the request failed with, if it did.
        let run: @Sendable (Database) -> (completion: @Sendable () -> Void, error: (any Error)?)
        /// Called instead when the batch as a whole could not commit.
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var pending: [Entry] = []
        var flushing = false
    }

    /// Hooks of the request running now (nil between requests) and of the requests of this batch
    /// that released their savepoint. Touched only on `queue`; a mutex keeps the compiler's
    /// concurrency checking whole.
    private struct RequestHooks {
        var current: [@Sendable () -> Void]?
        var committed: [@Sendable () -> Void] = []
        /// Hooks that run when the batch ends, whether it committed or not (`afterBatch`).
        var batchEnd: [@Sendable () -> Void] = []
    }

    public let pool: DatabasePool
    /// Single-statement lookups by key on a request's path, on the caller's thread.
    package let lookups: PointReader
    private let state = Mutex(State())
    private let hooks = Mutex(RequestHooks())
    private let queue = DispatchQueue(label: "switchboard.writer")

    public init(pool: DatabasePool) {
        self.pool = pool
        lookups = PointReader(path: pool.path)
    }

    /// Runs `body` in the next batch and returns its result once the batch is committed.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let entry = Entry(
                run: { db in
                    do {
                        let value = try self.inSavepoint(db, body)
                        return ({ continuation.resume(returning: value) }, nil)
                    } catch {
                        return ({ continuation.resume(throwing: error) }, error)
                    }
                },
                fail: { error in continuation.resume(throwing: error) }
            )
            enqueue(entry)
        }
    }

    /// Copies every committed page into the database file and empties the write-ahead log, so that
    /// content erased by earlier commits is in no file any more: SQLite's WAL keeps old page images
    /// until they are checkpointed and overwritten, and `secure_delete` (see `SwitchboardDatabase`)
    /// zeroes the freed space in the database file itself. Waits for readers up to the busy timeout.
    /// - Throws: `DatabaseError` (`SQLITE_BUSY`) when readers kept the log in use all that time.
    public func purgeWriteAheadLog() async throws {
        try await pool.writeWithoutTransaction { db in
            let (frames, copied) = try db.checkpoint(.truncate)
            guard frames <= 0 || copied == frames else {
                throw DatabaseError(
                    resultCode: .SQLITE_BUSY,
                    message: "the write-ahead log is in use; \(copied) of \(frames) frames copied")
            }
        }
    }

    /// Queues `body` without waiting for it. Batches commit in the order they were queued, so a
    /// write queued after this one and awaited commits no earlier. `failed` hears of an error.
    public func writeDetached(
        _ body: @escaping @Sendable (Database) throws -> Void,
        failed: @escaping @Sendable (any Error) -> Void = { _ in }
    ) {
        enqueue(
            Entry(
                run: { db in
                    do {
                        try self.inSavepoint(db, body)
                        return ({}, nil)
                    } catch {
                        return ({ failed(error) }, error)
                    }
                },
                fail: failed
            ))
    }

    /// Runs `body` in its own savepoint, so that its failure rolls back only its own changes. The
    /// savepoint statements come from the statement cache: compiling them for every request (as
    /// `Database.inSavepoint` does) cost more than many of the requests themselves.
    private func inSavepoint<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        try db.cachedStatement(sql: "SAVEPOINT request").execute()
        hooks.withLock { $0.current = [] }
        // Whatever happens below, no request is running once this returns: a hook registered
        // later must not be taken for this request's.
        defer { hooks.withLock { $0.current = nil } }
        let value: T
        do {
            value = try body(db)
        } catch {
            hooks.withLock { $0.current = nil }
            // Unless SQLite already rolled back the whole transaction (see `flushLoop`), in which
            // case the savepoint is gone and `error` is what the caller needs to hear.
            if db.isInsideTransaction {
                try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT request").execute()
                try db.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
            }
            throw error
        }
        try db.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
        hooks.withLock { hooks in hooks.committed += hooks.current ?? [] }
        return value
    }

    /// Runs `hook` once the writes of the request running now are committed, after the batch's
    /// COMMIT and before its callers resume; never when the request rolls back to its savepoint
    /// or the batch fails. GRDB's `afterNextTransaction` fires for the whole transaction, also for
    /// a request that rolled back, and SQLite may then give the next insert the rolled-back row's
    /// `AUTOINCREMENT` id. Call it from inside a request's body; elsewhere it does nothing and
    /// returns false.
    package func afterRequestCommit(_ hook: @escaping @Sendable () -> Void) -> Bool {
        hooks.withLock { hooks in
            guard hooks.current != nil else { return false }
            hooks.current!.append(hook)
            return true
        }
    }

    /// Runs `hook` once the batch running now has ended, committed or rolled back, before its
    /// callers resume: what GRDB's `afterNextTransaction` gives, without registering a transaction
    /// observer. GRDB drops every cached statement that can delete rows whenever an observer is
    /// added or removed, so an observer per batch made each batch compile its `DELETE`s again
    /// (`sqlite3_prepare_v3` under the event log's prune was 1% of the daemon's samples with three
    /// add-ons). Call it from inside a request's body; elsewhere it does nothing and returns false.
    package func afterBatch(_ hook: @escaping @Sendable () -> Void) -> Bool {
        hooks.withLock { hooks in
            guard hooks.current != nil else { return false }
            hooks.batchEnd.append(hook)
            return true
        }
    }

    private func enqueue(_ entry: Entry) {
        let startFlush = state.withLock { state -> Bool in
            state.pending.append(entry)
            if state.flushing { return false }
            state.flushing = true
            return true
        }
        if startFlush {
            queue.async { self.flushLoop() }
        }
    }

    private func flushLoop() {
        while true {
            let batch = state.withLock { state -> [Entry] in
                let batch = state.pending
                state.pending.removeAll(keepingCapacity: true)
                if batch.isEmpty { state.flushing = false }
                return batch
            }
            if batch.isEmpty { return }
            do {
                let completions = try pool.writeWithoutTransaction { db in
                    var completions: [@Sendable () -> Void] = []
                    completions.reserveCapacity(batch.count)
                    try db.inTransaction(.immediate) {
                        for entry in batch {
                            let (completion, error) = entry.run(db)
                            completions.append(completion)
                            // After SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY or SQLITE_NOMEM, SQLite may
                            // roll back the whole transaction, not only the failed statement
                            // (https://sqlite.org/lang_transaction.html, "Response To Errors Within
                            // A Transaction"). The writes of earlier entries are then gone: fail the
                            // whole batch rather than acknowledge them.
                            if let error, !db.isInsideTransaction { throw error }
                        }
                        return .commit
                    }
                    return completions
                }
                let (committed, ended) = hooks.withLock { hooks in
                    defer {
                        hooks.committed.removeAll(keepingCapacity: true)
                        hooks.batchEnd.removeAll(keepingCapacity: true)
                    }
                    return (hooks.committed, hooks.batchEnd)
                }
                for hook in committed { hook() }
                for hook in ended { hook() }
                for completion in completions { completion() }
            } catch {
                let ended = hooks.withLock { hooks in
                    defer {
                        hooks.committed.removeAll(keepingCapacity: true)
                        hooks.batchEnd.removeAll(keepingCapacity: true)
                    }
                    return hooks.batchEnd
                }
                for hook in ended { hook() }
                for entry in batch { entry.fail(error) }
            }
        }
    }
}
