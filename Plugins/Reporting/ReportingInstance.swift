import AddonKit
import PluginAPI

/// One Reporting instance: folds message.status events into daily reports, emits each changed
/// row, and keeps the reports on disk so they survive restarts. Disk writes and emitted rows are
/// made once per delivered batch (`endBatch`), not once per event.
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
        /// Journal lines of the batch being delivered, written by `endBatch`.
        var lines: [UInt8] = []
        /// The account days the batch touched, whose rows `endBatch` emits: a batch of 256 events
        /// for one account and day is one row, not 256. Keys only: a copy of a day's report held
        /// here would make the next event's insert copy the day's whole fingerprint set.
        var changedDays: Set<DayKey> = []
    }

    struct DayKey: Hashable {
        var account: String
        var date: String
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
            timestampMs: event.int("usage.timestamp") ?? event.timeMs,
            // Optional fields: absent when the customer did not grant them, and the report then
            // simply has no segments or error codes.
            segments: event.int("usage.segments"),
            errorCode: event.int("usage.error_code")
        )
        let account = event.accountID
        state.withLock { state in
            let (day, changed) = state.reports.record(update, account: account)
            if changed && !state.unsaved {
                ReportStore.journalLine(update, account: account, to: &state.lines)
                state.journaled += 1
            }
            // Emitted even when unchanged, so a row lost before a crash is sent again.
            state.changedDays.insert(DayKey(account: account, date: day.date))
        }
        return SB_OK
    }

    /// Ends a delivered batch (ABI 1.1 `end_batch`): its journal lines in one write, then one row
    /// per changed account and day. A failure answers `SB_RETRY`, so the host delivers the batch
    /// again; its updates are already counted and deduplicated, so that only writes again.
    func endBatch() -> Int32 {
        state.withLock { state in
            if !state.unsaved {
                do {
                    try store.append(state.lines, journal: &state.journal)
                } catch {
                    host.log(.error, "could not journal status updates: \(error)")
                    state.unsaved = true
                }
            }
            state.lines.removeAll(keepingCapacity: true)
            if state.journaled >= state.snapshotAfter { state.unsaved = true }
            let code = save(&state)
            guard code == SB_OK else { return code }
            for key in state.changedDays {
                guard let report = state.reports.accounts[key.account]?[key.date] else { continue }
                emit((key.date, report), account: key.account)
            }
            state.changedDays.removeAll(keepingCapacity: true)
            return SB_OK
        }
    }

    func erase(_ subject: SubjectView) -> Int32 {
        let account = subject.accountID
        switch subject.kind {
        case SB_SUBJECT_ACCOUNT:
            return state.withLock { state in
                state.changedDays = state.changedDays.filter { $0.account != account }
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
                // Rows still waiting from a batch whose end failed come again with its redelivery.
                state.changedDays = state.changedDays.filter { $0.account != account }
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
