/// Every account's daily reports: the whole state of the Reporting add-on, and what it persists.
struct DailyReports: Codable, Equatable, Sendable {
    typealias Day = (date: String, report: DailyReport)

    /// Account id → "YYYY-MM-DD" → that day's report.
    private(set) var accounts: [String: [String: DailyReport]] = [:]

    /// Adds one status update to its account's report for the update's UTC day. Returns the day
    /// and its report (to emit even when unchanged, so a row lost before a crash is re-sent on
    /// redelivery) and whether anything changed.
    mutating func record(_ update: StatusUpdate, account: String) -> (day: Day, changed: Bool) {
        let date = UTCDate.string(fromMilliseconds: update.timestampMs)
        // In place: a copy of the day's report would copy its sets, once per event.
        let changed = accounts[account, default: [:]][date, default: DailyReport()].record(update)
        return ((date, accounts[account]![date]!), changed)
    }

    /// (message, status) pairs held over all days: what a snapshot has to write.
    var countedPairs: Int {
        accounts.values.reduce(0) { total, days in total + days.values.reduce(0) { $0 + $1.counted.count } }
    }

    /// Forgets everything about an account; returns whether anything was held.
    mutating func erase(account: String) -> Bool {
        accounts.removeValue(forKey: account) != nil
    }

    /// Removes a recipient's pseudonym from every day of one account; returns the days that
    /// changed, oldest first, with their new reports.
    mutating func erase(recipient: String, account: String) -> [Day] {
        guard var days = accounts[account] else { return [] }
        var changed: [Day] = []
        for date in days.keys.sorted() {
            guard var report = days[date], report.forget(recipient: recipient) else { continue }
            days[date] = report
            changed.append((date, report))
        }
        if !changed.isEmpty { accounts[account] = days }
        return changed
    }
}
