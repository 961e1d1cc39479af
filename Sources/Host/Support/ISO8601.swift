import Foundation

/// Timestamps in API output: RFC 3339 in UTC with milliseconds.
enum Timestamp {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let plain = Date.ISO8601FormatStyle()

    static func string(_ millis: Int64?) -> String? {
        millis.map { string(Date(epochMillis: $0)) }
    }

    static func string(_ date: Date) -> String {
        withFraction.format(date)
    }

    static func parse(_ text: String) -> Date? {
        (try? withFraction.parse(text)) ?? (try? plain.parse(text))
    }
}
