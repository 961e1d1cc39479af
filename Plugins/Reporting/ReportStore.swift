import AddonKit
import Foundation

/// The Reporting state: a snapshot of every account's daily reports (versioned JSON, replaced
/// atomically) and a journal of the status updates recorded since, one JSON line each. Appending a
/// line per event costs one write; rewriting and syncing the snapshot per event cost two fsyncs
/// and capped the whole platform's throughput.
struct ReportStore: Sendable {
    static let fileName = "reporting.json"
    static let journalName = "reporting.journal"
    /// 2 keeps counted pairs as packed fingerprints; 1 (listing the pairs) is still read. A day's
    /// `segments` and `error_codes` are optional keys within 2, not a format of their own: a file
    /// without them loads as zero and empty, and a version that predates them ignores them.
    private static let format = 2
    private static let readable = 1...2

    let path: String
    let journalPath: String

    init(directory: String) {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        path = base + Self.fileName
        journalPath = base + Self.journalName
    }

    /// The saved reports with the journal replayed on top; empty when nothing was saved yet.
    /// Reads only: the host also creates instances in its command-line tools.
    func load() throws -> DailyReports {
        var reports = DailyReports()
        if let bytes = try StateFile.load(path) {
            let contents: Contents
            do {
                contents = try JSONDecoder().decode(Contents.self, from: Data(bytes))
            } catch {
                throw ReportStoreError("\(path) is not a Reporting state file (\(error)); move it aside to start empty")
            }
            guard Self.readable.contains(contents.format) else {
                throw ReportStoreError(
                    "\(path) has format \(contents.format), this version reads formats \(Self.readable.lowerBound) to \(Self.readable.upperBound)"
                )
            }
            reports = contents.reports
        }
        guard let journal = try StateFile.load(journalPath) else { return reports }
        let decoder = JSONDecoder()
        for line in journal.split(separator: UInt8(ascii: "\n")) {
            // A line cut short by a crash is the last one, and its event was never acknowledged.
            guard let entry = try? decoder.decode(JournalEntry.self, from: Data(line)) else { continue }
            // Recording is idempotent per message and status, so replaying over a newer snapshot is harmless.
            _ = reports.record(entry.update, account: entry.account)
        }
        return reports
    }

    /// Adds one update's journal line to `lines`, to be written with ``append(_:journal:)``.
    static func journalLine(_ update: StatusUpdate, account: String, to lines: inout [UInt8]) {
        lines.append(contentsOf: JournalEntry(account: account, update: update).line.utf8)
        lines.append(UInt8(ascii: "\n"))
    }

    /// Appends journal lines in one write, opening the journal on first use (`journal` is its
    /// descriptor).
    func append(_ lines: [UInt8], journal: inout Int32?) throws {
        guard !lines.isEmpty else { return }
        let fd = try journal ?? StateFile.openAppend(journalPath)
        journal = fd
        try StateFile.append(lines, to: fd, path: journalPath)
    }

    /// Writes a snapshot of everything and empties the journal (after erasures, so that erased data
    /// leaves the disk at once, and every `snapshotEvery` updates).
    func save(_ reports: DailyReports, journal: inout Int32?) throws {
        // Packed fingerprints are megabytes of base64; escaping each "/" in them is wasted work.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = try encoder.encode(Contents(format: Self.format, reports: reports))
        // Written from the encoder's buffer: a copy would add its size (tens of MB) to the peak.
        try data.withUnsafeBytes { try StateFile.replace(path, with: $0) }
        if let fd = journal { StateFile.closeAppend(fd) }
        journal = nil
        try StateFile.remove(journalPath)
    }

    private struct Contents: Codable {
        let format: Int
        let reports: DailyReports
    }

    private struct JournalEntry: Codable {
        var account: String
        var update: StatusUpdate

        /// The entry as `JSONEncoder` would write it (a journal line is made for every event, and
        /// the encoder cost more than the rest of recording it); read back with `JSONDecoder`.
        var line: String {
            let status = update.status.map { ",\"status\":\(jsonString($0.rawValue))" } ?? ""
            let recipient = update.recipient.map { ",\"recipient\":\(jsonString($0))" } ?? ""
            // Only when the customer granted them, so a line is as long as it was without them.
            let segments = update.segments.map { ",\"segments\":\($0)" } ?? ""
            let errorCode = update.errorCode.map { ",\"errorCode\":\($0)" } ?? ""
            return "{\"account\":\(jsonString(account)),\"update\":{\"messageID\":\(jsonString(update.messageID))"
                + "\(recipient)\(status),\"timestampMs\":\(update.timestampMs)\(segments)\(errorCode)}}"
        }
    }
}

/// A state file that cannot be used, with what to do about it.
struct ReportStoreError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
