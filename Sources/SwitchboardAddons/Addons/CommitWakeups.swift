import GRDB
import SwitchboardCore
import Synchronization

/// Wakes add-on delivery workers once the transaction that queued their events has ended.
///
/// One hook per group-commit batch, not one per published event, and no GRDB transaction observer
/// where the writer's own hook serves (`GroupCommitWriter.afterBatch`): GRDB consults every
/// registered observer before each later statement of the transaction, and drops the cached
/// statements that can delete rows whenever one is added or removed.
final class CommitWakeups: Sendable {
    private struct State {
        var addonIDs: Set<String> = []
        /// Whether an observer waits for the end of the current transaction.
        var armed = false
    }

    private let state = Mutex(State())
    private let queues: [String: BatchQueue<Void>]

    private let writer: GroupCommitWriter

    init(queues: [String: BatchQueue<Void>], writer: GroupCommitWriter) {
        self.queues = queues
        self.writer = writer
    }

    /// Wakes the workers of `addonIDs` when `db`'s current transaction (the writer's batch, when
    /// called from one of its requests) ends. A rollback wakes them too: a worker that finds
    /// nothing new goes back to sleep.
    func wake(_ addonIDs: some Sequence<String>, after db: Database) {
        let arm = state.withLock { state -> Bool in
            state.addonIDs.formUnion(addonIDs)
            if state.armed { return false }
            state.armed = true
            return true
        }
        guard arm else { return }
        if writer.afterBatch({ self.fire() }) { return }
        db.afterNextTransaction(onCommit: { _ in self.fire() }, onRollback: { _ in self.fire() })
    }

    private func fire() {
        let addonIDs = state.withLock { state -> Set<String> in
            state.armed = false
            defer { state.addonIDs.removeAll(keepingCapacity: true) }
            return state.addonIDs
        }
        for id in addonIDs { queues[id]?.push(()) }
    }
}
