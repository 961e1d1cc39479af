import AddonKit
import Foundation

/// The Reporting state file: every account's daily reports as versioned JSON, replaced atomically.
struct ReportStore: Sendable {
    static let fileName = "reporting.json"
    private static let format = 1

    let path: String

    init(directory: String) {
        path = directory.hasSuffix("/") ? directory + Self.fileName : directory + "/" + Self.fileName
    }

    /// The saved reports; empty when nothing was saved yet.
    func load() throws -> DailyReports {
        guard let bytes = try StateFile.load(path) else { return DailyReports() }
        let contents: Contents
        do {
            contents = try JSONDecoder().decode(Contents.self, from: Data(bytes))
        } catch {
            throw ReportStoreError("\(path) is not a Reporting state file (\(error)); move it aside to start empty")
        }
        guard contents.format == Self.format else {
            throw ReportStoreError("\(path) has format \(contents.format), this version reads \(Self.format)")
        }
        return contents.reports
    }

    func save(_ reports: DailyReports) throws {
        let data = try JSONEncoder().encode(Contents(format: Self.format, reports: reports))
        try StateFile.replace(path, with: [UInt8](data))
    }

    private struct Contents: Codable {
        let format: Int
        let reports: DailyReports
    }
}

/// A state file that cannot be used, with what to do about it.
struct ReportStoreError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
