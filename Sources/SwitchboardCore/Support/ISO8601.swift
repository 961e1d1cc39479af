import Foundation

/// Timestamps in API output (RFC 3339 in UTC with milliseconds) and in query parameters (any RFC 3339
/// `date-time`, read strictly).
package enum Timestamp {
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

    /// What `parse` accepts, as the message for a bad value: the form, with two examples.
    package static let hint =
        "must be an RFC 3339 time with its offset, e.g. 2026-01-31T00:00:00Z or 2026-01-31T02:00:00.250+02:00"

    /// `text` as an instant, when it is exactly an RFC 3339 `date-time` (section 5.6) that names a
    /// real moment; nil otherwise. See `parseMillis`.
    package static func parse(_ text: String) -> Date? {
        parseMillis(text).map { Date(epochMillis: $0) }
    }

    /// Milliseconds since 1970-01-01T00:00:00Z for an RFC 3339 `date-time` (section 5.6), or nil.
    ///
    /// The whole text must match `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` ("t" and "z" may
    /// be lower case, as section 5.6 allows), and name a date that exists (section 5.7: February 29
    /// only in leap years, no 2026-02-30, no hour 24). Refused rather than guessed: trailing text
    /// (`…Zgarbage`, which `ISO8601FormatStyle` read as `…Z`), a missing offset, a leap second
    /// (`:60`, which millisecond timestamps cannot hold) and a fraction finer than a millisecond
    /// unless its extra digits are zeros (timestamps are stored in milliseconds, so `.1234` could
    /// only be rounded).
    package static func parseMillis(_ text: String) -> Int64? {
        let utf8 = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int64? {
            guard index + count <= utf8.count else { return nil }
            var value: Int64 = 0
            for byte in utf8[index..<index + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            index += count
            return value
        }
        func expect(_ characters: Character...) -> Bool {
            guard index < utf8.count, characters.contains(Character(Unicode.Scalar(utf8[index]))) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("T", "t"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24,
            minute < 60, second < 60
        else { return nil }
        var millis: Int64 = 0
        if expect(".") {
            let start = index
            while index < utf8.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(utf8[index]) { index += 1 }
            let digits = utf8[start..<index]
            guard !digits.isEmpty, digits.dropFirst(3).allSatisfy({ $0 == UInt8(ascii: "0") }) else { return nil }
            for position in 0..<3 {
                let digit = position < digits.count ? Int64(digits[start + position] - UInt8(ascii: "0")) : 0
                millis = millis * 10 + digit
            }
        }
        var offsetMinutes: Int64 = 0
        if !expect("Z", "z") {
            guard index < utf8.count, utf8[index] == UInt8(ascii: "+") || utf8[index] == UInt8(ascii: "-") else {
                return nil
            }
            let sign: Int64 = utf8[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHour = number(2), expect(":"), let offsetMinute = number(2), offsetHour < 24,
                offsetMinute < 60
            else { return nil }
            offsetMinutes = sign * (offsetHour * 60 + offsetMinute)
        }
        guard index == utf8.count else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let local = ((days * 24 + hour) * 60 + minute) * 60 + second
        return (local - offsetMinutes * 60) * 1000 + millis
    }

    /// Whether `text` is exactly a calendar date `YYYY-MM-DD` that exists (RFC 3339 `full-date`):
    /// `ISO8601FormatStyle` read 2026-02-30 as March 2.
    package static func isDay(_ text: String) -> Bool {
        text.utf8.count == 10 && parseMillis(text + "T00:00:00Z") != nil
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a civil date (H. Hinnant's days_from_civil, the inverse of `string`'s).
    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
