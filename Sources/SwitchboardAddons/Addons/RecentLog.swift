import Foundation
import SwitchboardCore
import Synchronization

/// The newest rows of the event log, in memory, so that workers that keep up take fresh events
/// from here instead of reading back what was just written. The table stays the durable copy:
/// a worker reads it after a restart, when it has fallen behind these rows, or when there is
/// nothing newer here.
///
/// Rows arrive once their request committed (`GroupCommitWriter.afterRequestCommit`), in `seq`
/// order. The rows held are always one unbroken run of `seq`s: a row that does not follow the last
/// (one written by another process, or not handed here) starts the run afresh, so a worker never
/// takes a run with a hole in it. At most `capacity` rows are kept.
package final class RecentLog: Sendable {
    /// One row, with the event already decoded (nil for an erasure order).
    package struct Row: Sendable {
        package var entry: EventLog.Entry
        package var event: DomainEvent?

        package init(entry: EventLog.Entry, event: DomainEvent? = nil) {
            self.entry = entry
            self.event = event
        }
    }

    private struct State {
        var rows: [Row] = []
    }

    private let state = Mutex(State())
    let capacity: Int

    package init(capacity: Int = 8192) {
        self.capacity = capacity
    }

    /// Adds the row just committed after the last one.
    package func append(_ row: Row) {
        state.withLock { state in
            if let last = state.rows.last, row.entry.seq != last.entry.seq + 1 { state.rows.removeAll() }
            state.rows.append(row)
            // Half at a time, so trimming costs O(1) per row.
            if state.rows.count > capacity { state.rows.removeFirst(state.rows.count - capacity / 2) }
        }
    }

    /// Up to `limit` rows after `seq`, when the rows held start at or before `seq + 1` and go past
    /// it; nil otherwise (the caller reads the table).
    package func read(after seq: Int64, limit: Int) -> [Row]? {
        state.withLock { state in
            guard let first = state.rows.first?.entry.seq, let last = state.rows.last?.entry.seq,
                first <= seq + 1, seq < last
            else { return nil }
            let start = Int(seq + 1 - first)
            return Array(state.rows[start..<min(start + limit, state.rows.count)])
        }
    }

    /// Takes `addonID` out of the account's events held here, as `EventLog.withdraw` does in the table.
    package func withdraw(addonID: String, accountID: String) {
        let token = EventLog.token(addonID)
        state.withLock { state in
            for index in state.rows.indices
            where state.rows[index].entry.accountID == accountID && state.rows[index].entry.kind == .event {
                state.rows[index].entry.recipients = state.rows[index].entry.recipients
                    .replacingOccurrences(of: token, with: ",")
            }
        }
    }

    /// Drops the account's events held here (an account erasure), keeping their places in the run
    /// as rows for no one, as `EventLog.forgetAccount` deletes them from the table.
    package func forget(accountID: String) {
        state.withLock { state in
            for index in state.rows.indices
            where state.rows[index].entry.accountID == accountID && state.rows[index].entry.kind == .event {
                state.rows[index].entry.recipients = ","
                state.rows[index].entry.payload = Data()
                state.rows[index].event = nil
            }
        }
    }

    /// Forgets every row: consent records changed in a way this process did not see row by row
    /// (another process wrote them), so the table is the only copy to trust.
    package func clear() {
        state.withLock { $0.rows.removeAll() }
    }
}
