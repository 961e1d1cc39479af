import Foundation

/// Timestamps in API output: RFC 3339 in UTC with milliseconds.
package enum Timestamp {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let plain = Date.ISO8601FormatStyle()

    /// Written by hand from the civil calendar (each message answer and callback carries two or
    /// three of these, and the format style cost more than the rest of the answer). The layout is
    /// `ISO8601FormatStyle`'s with fractional seconds, but exact: the style works from a
    /// floating-point `Date` and showed 999 ms as .998 about one time in five.
    package static func string(_ millis: Int64?) -> String? {
        guard let millis else { return nil }
        let (days, msOfDay) = millis.quotientAndRemainder(dividingBy: 86_400_000)
        let (day, ms) = msOfDay < 0 ? (days - 1, msOfDay + 86_400_000) : (days, msOfDay)
        // Days since 1970-01-01 to year, month, day (H. Hinnant's civil_from_days).
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let dayOfMonth = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        out.append(UInt8(ascii: "-"))
        digits(month, 2)
        out.append(UInt8(ascii: "-"))
        digits(dayOfMonth, 2)
        out.append(UInt8(ascii: "T"))
        digits(ms / 3_600_000, 2)
        out.append(UInt8(ascii: ":"))
        digits(ms / 60_000 % 60, 2)
        out.append(UInt8(ascii: ":"))
        digits(ms / 1000 % 60, 2)
        out.append(UInt8(ascii: "."))
        digits(ms % 1000, 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The same text for a `Date`, truncated to the millisecond as the format style did.
    package static func string(_ date: Date) -> String {
        string(Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))!
    }

    package static func parse(_ text: String) -> Date? {
        (try? withFraction.parse(text)) ?? (try? plain.parse(text))
    }
}
