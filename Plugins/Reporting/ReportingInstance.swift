import AddonKit
import PluginAPI

/// One Reporting instance: folds message.status events into daily reports, emits each changed
/// row, and keeps the reports on disk so they survive restarts.
final class ReportingInstance: Sendable {
    private struct State {
        var reports: DailyReports
        /// True while the files lag memory (a write failed); the next call writes a snapshot.
        var unsaved = false
        /// Journal lines since the last snapshot.
        var journaled = 0
        /// Journal lines after which a snapshot replaces them: at least `snapshotEvery`, and as
        /// many as the snapshot holds pairs, so that snapshots cost O(1) per event however big.
        var snapshotAfter = ReportingInstance.snapshotEvery
        /// The journal's descriptor once the first update was appended.
        var journal: Int32?
    }

    static let snapshotEvery = 10_000

    private let host: HostHandle
    private let store: ReportStore
    private let state: Locked<State>

    init(host: HostHandle) throws {
        self.host = host
        store = ReportStore(directory: host.stateDirectory)
        state = Locked(State(reports: try store.load()))
    }

    func handle(_ event: EventView) -> Int32 {
        guard event.typeName == "message.status" else { return SB_OK }
        guard let status = event.text("usage.status") else {
            host.log(.error, "event \(event.eventID) of account \(event.accountID) has no usage.status; skipped")
            return SB_ERROR
        }
        let update = StatusUpdate(
            status: DeliveryStatus(rawValue: status),
            // The manifest requires message_id; the event id still dedupes a plain redelivery without it.
            messageID: event.text("usage.message_id") ?? event.eventID,
            // The manifest promises customers a pseudonym only; a clear number is never kept.
            recipient: event.kind("usage.to") == SB_FIELD_PSEUDONYM ? event.text("usage.to") : nil,
            timestampMs: event.int("usage.timestamp") ?? event.timeMs
        )
        let account = event.accountID
        return state.withLock { state in
            let (day, changed) = state.reports.record(update, account: account)
            if changed && !state.unsaved {
                do {
                    try store.append(update, account: account, journal: &state.journal)
                    state.journaled += 1
                } catch {
                    host.log(.error, "could not journal a status update: \(error)")
                    state.unsaved = true
                }
            }
            emit(day, account: account)
            if state.journaled >= state.snapshotAfter { state.unsaved = true }
            return save(&state)
        }
    }

    func erase(_ subject: SubjectView) -> Int32 {
        let account = subject.accountID
        switch subject.kind {
        case SB_SUBJECT_ACCOUNT:
            return state.withLock { state in
                // Nothing to emit: the host deletes the account's records itself.
                if state.reports.erase(account: account) { state.unsaved = true }
                return save(&state)
            }
        case SB_SUBJECT_NUMBER, SB_SUBJECT_CONTACT:
            guard let pseudonym = subject.pseudonym else {
                host.log(.error, "erasure for account \(account) came without a pseudonym, the only form held")
                return SB_ERROR
            }
            return state.withLock { state in
                let days = state.reports.erase(recipient: pseudonym, account: account)
                if !days.isEmpty { state.unsaved = true }
                for day in days { emit(day, account: account) }
                return save(&state)
            }
        default:
            host.log(.error, "erasure subject kind \(subject.kind) is unknown to this version; nothing erased")
            return SB_ERROR
        }
    }

    private func emit(_ day: DailyReports.Day, account: String) {
        if !host.emit(kind: "report", accountID: account, key: day.date, json: day.report.row(date: day.date)) {
            host.log(.warning, "host refused the report row \(day.date) of account \(account)")
        }
    }

    /// Writes a snapshot when the journal cannot stand for memory (a failed append, an erasure,
    /// or enough lines). A failed save asks the host to retry the call: the counters are already
    /// updated and deduplicated, so the retry only saves again.
    private func save(_ state: inout State) -> Int32 {
        guard state.unsaved else { return SB_OK }
        do {
            try store.save(state.reports, journal: &state.journal)
            state.unsaved = false
            state.journaled = 0
            state.snapshotAfter = max(Self.snapshotEvery, state.reports.countedPairs)
            return SB_OK
        } catch {
            host.log(.error, "could not save daily reports: \(error)")
            return SB_RETRY
        }
    }
}
