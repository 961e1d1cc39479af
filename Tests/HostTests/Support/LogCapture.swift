import Foundation
import Logging
import Synchronization

/// What a test daemon logged, kept in memory instead of printed, so a passing run is quiet and a
/// test that provokes a warning on purpose asserts on it. `SWITCHBOARD_TEST_LOGS=1` also prints
/// every line, for a failing test.
final class LogCapture: Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let records = Mutex<[Record]>([])
    private static let echo = ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_LOGS"] == "1"

    /// Everything logged so far at `level` or above.
    func lines(atLeast level: Logger.Level = .trace) -> [Record] {
        records.withLock { $0.filter { $0.level >= level } }
    }

    /// Whether a line at `level` or above contains `text`.
    func contains(_ text: String, atLeast level: Logger.Level = .trace) -> Bool {
        lines(atLeast: level).contains { $0.message.contains(text) }
    }

    func logger(label: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: label) { _ in Handler(capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ record: Record) {
        records.withLock { $0.append(record) }
        if Self.echo {
            let metadata = record.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            print("[\(record.level)] \(record.message) \(metadata.joined(separator: " "))")
        }
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { $1 } }
            capture.append(
                Record(
                    level: event.level, message: event.message.description,
                    metadata: merged.mapValues { "\($0)" }))
        }
    }
}
