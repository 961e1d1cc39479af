import Foundation

/// SMPP 3.4 section 7.1.1 time formats, as `submit_sm` carries them in `schedule_delivery_time`
/// and `validity_period`: 16 characters `YYMMDDhhmmsstnnp`, absolute (`p` is `+` or `-`: the local
/// time is `nn` quarter hours ahead of or behind UTC) or relative (`p` is `R`: years, months,
/// days, hours, minutes and seconds from now), or empty for none.
enum SMPPTime {
    /// `millis` (ms since the epoch) as an absolute time in UTC, `YYMMDDhhmmss` and tenths of a
    /// second, then `00+` (no offset from UTC).
    static func absolute(_ millis: Int64) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = Date(timeIntervalSince1970: Double(millis) / 1000)
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%02d%02d%02d%02d%02d%02d%d00+", (parts.year ?? 0) % 100, parts.month ?? 0, parts.day ?? 0,
            parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0, Int(millis % 1000) / 100)
    }

    /// Why `validity` cannot be a validity period, or nil when it is one (or empty): not the
    /// format above, or an absolute time already past at `now`.
    static func validityProblem(_ validity: String, now: Date) -> String? {
        guard !validity.isEmpty else { return nil }
        let characters = Array(validity.utf8)
        let kind = characters.last.map { Character(Unicode.Scalar($0)) } ?? " "
        guard characters.count == 16, characters[0..<15].allSatisfy({ (48...57).contains($0) }), "+-R".contains(kind)
        else {
            return
                "validity_period \"\(validity)\" is not an SMPP 3.4 time (16 characters YYMMDDhhmmsstnnp, p one of +, - or R)"
        }
        func number(_ range: Range<Int>) -> Int {
            characters[range].reduce(0) { $0 * 10 + Int($1 - 48) }
        }
        guard kind != "R" else {
            // A relative period of nothing: the message would expire before it could be sent.
            guard number(0..<12) == 0 else { return nil }
            return "validity_period \"\(validity)\" is a relative time of zero; give the time the message stays valid"
        }
        var components = DateComponents()
        components.timeZone = TimeZone(identifier: "UTC")
        components.year = 2000 + number(0..<2)
        components.month = number(2..<4)
        components.day = number(4..<6)
        components.hour = number(6..<8)
        components.minute = number(8..<10)
        components.second = number(10..<12)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard (1...12).contains(components.month!), (1...31).contains(components.day!), components.hour! < 24,
            components.minute! < 60, components.second! < 60, number(13..<15) <= 48,
            let local = calendar.date(from: components),
            // The calendar rolls a day the month does not have (30 February) into the next month.
            calendar.component(.day, from: local) == components.day
        else {
            return "validity_period \"\(validity)\" is not a date and time"
        }
        let offset = TimeInterval(number(13..<15) * 15 * 60)
        let utc = kind == "+" ? local.addingTimeInterval(-offset) : local.addingTimeInterval(offset)
        guard utc > now else { return "validity_period \"\(validity)\" has passed already" }
        return nil
    }
}
