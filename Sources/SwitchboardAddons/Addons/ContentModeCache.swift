import SwitchboardCore
import Synchronization

/// Each account's `content_mode`, which every pre-send check needs, kept in memory. A change is
/// announced inside its transaction and again after it commits; a value read from the database is
/// kept only if no change was announced while it was being read, so a stale mode never sticks.
final class ContentModeCache: Sendable {
    private struct State {
        var modes: [String: ContentMode] = [:]
        var epoch: UInt64 = 0
    }

    private let state = Mutex(State())
    private let capacity = 100_000

    /// The modes known, the accounts to read, and the epoch to hand back to `fill`.
    func lookup(_ accountIDs: some Sequence<String>) -> (known: [String: ContentMode], missing: [String], epoch: UInt64)
    {
        state.withLock { state in
            var known: [String: ContentMode] = [:]
            var missing: [String] = []
            for id in accountIDs where known[id] == nil {
                if let mode = state.modes[id] { known[id] = mode } else if !missing.contains(id) { missing.append(id) }
            }
            return (known, missing, state.epoch)
        }
    }

    func fill(_ modes: [String: ContentMode], readAt epoch: UInt64) {
        state.withLock { state in
            guard state.epoch == epoch else { return }
            if state.modes.count + modes.count > capacity { state.modes.removeAll(keepingCapacity: true) }
            state.modes.merge(modes) { $1 }
        }
    }

    func invalidate(_ accountID: String) {
        state.withLock { state in
            state.epoch &+= 1
            state.modes[accountID] = nil
        }
    }
}
