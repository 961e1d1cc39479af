import Foundation
import SwiftCSV

/// Parses a phonebook CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF) with a header row
/// naming the columns `number`, `name`, `notes`, `groups` (groups separated by `;`).
///
/// Records are found and their quoting checked by `CSVRecords`, fields are read by SwiftCSV, and
/// every value keeps to `TextRule`. A bad record is reported with its record number and line and
/// never takes its neighbours with it; only a bad header, an empty body or bytes that are not UTF-8
/// refuse the whole file.
public enum ContactCSV {
    public struct RowError: Sendable, Codable, Equatable {
        /// The record number, counting the header as 1 and a blank line as a record: the line number
        /// as long as no quoted value spans lines.
        public var row: Int
        /// 1-based line of the file where the record starts.
        public var line: Int
        public var errors: [FieldError]
    }

    public struct Parsed: Sendable {
        public var contacts: [ContactFields]
        public var rowErrors: [RowError]
    }

    public static let columns = ["number", "name", "notes", "groups"]

    /// Why a file was refused as a whole.
    public enum HeaderError: Error, Equatable {
        case missingNumberColumn
        case unknownColumn(String)
        /// A column named twice: which of the two values counts would be a guess.
        case duplicateColumn(String)
        /// The header row's quoting is malformed; `message` says how (`CSVRecords`).
        case malformedHeader(String)
        case empty
        /// The bytes are not UTF-8 from `byte` (0-based), on `line` (1-based).
        case notUTF8(byte: Int, line: Int)
    }

    /// The entry point over bytes (and for fuzzing): any input returns rows and row errors or throws
    /// `HeaderError`. A UTF-8 byte order mark at the start is skipped, as spreadsheet programs often
    /// write one; bytes that are not UTF-8 are refused rather than replaced with U+FFFD.
    public static func parse(_ data: Data) throws(HeaderError) -> Parsed {
        guard let text = String(validating: data, as: UTF8.self) else {
            var decoder = UTF8()
            var iterator = data.makeIterator()
            var valid = 0
            while case .scalarValue(let scalar) = decoder.decode(&iterator) { valid += UTF8.width(scalar) }
            let line = 1 + data.prefix(valid).lazy.filter { $0 == 0x0A }.count
            throw .notUTF8(byte: valid, line: line)
        }
        return try parse(text)
    }

    /// `text` read as a phonebook CSV; a leading U+FEFF (byte order mark) is skipped.
    public static func parse(_ text: String) throws(HeaderError) -> Parsed {
        var records = CSVRecords(
            text.unicodeScalars.first == "\u{FEFF}" ? String(text.unicodeScalars.dropFirst()) : text)
        guard let header = records.next(), !isBlank(header.text) else { throw .empty }
        if let problem = header.problem { throw .malformedHeader("column \(problem.column + 1) \(problem.message)") }
        guard let headerFields = try? fields(of: header.text) else {
            throw .malformedHeader("could not be read as CSV; check its quotes and commas")
        }
        let names = headerFields.map { $0.trimmedOfBlanks.lowercased() }
        for name in names where !columns.contains(name) { throw .unknownColumn(name) }
        for (index, name) in names.enumerated() where names[..<index].contains(name) { throw .duplicateColumn(name) }
        guard let numberIndex = names.firstIndex(of: "number") else { throw .missingNumberColumn }

        let rest = Array(records)
        let readable = rest.filter { $0.problem == nil && !isBlank($0.text) }
        let allValues = fields(of: readable.map(\.text))
        var valuesByNumber: [Int: [String]] = [:]
        for (record, values) in zip(readable, allValues) { valuesByNumber[record.number] = values }

        var parsed = Parsed(contacts: [], rowErrors: [])
        for record in rest {
            func reject(_ errors: [FieldError]) {
                parsed.rowErrors.append(RowError(row: record.number, line: record.line, errors: errors))
            }
            // Before the quoting and the column count, which such a joined character breaks
            // without saying why.
            if let joined = joinedSeparator(in: record.text) {
                reject([FieldError("row", joined)])
                continue
            }
            if let problem = record.problem {
                reject([FieldError(problem.column < names.count ? names[problem.column] : "row", problem.message)])
                continue
            }
            if isBlank(record.text) { continue }
            guard let values = valuesByNumber[record.number] else {
                reject([FieldError("row", "could not be read as CSV; check its quotes and commas")])
                continue
            }
            if values.allSatisfy({ $0.trimmedOfBlanks.isEmpty }) { continue }
            if values.count != names.count {
                reject([FieldError("row", "has \(values.count) columns; the header has \(names.count)")])
                continue
            }
            let textErrors = zip(names, values).compactMap { name, value in
                TextRule.problem(value).map { FieldError(name, $0) }
            }
            if !textErrors.isEmpty {
                reject(textErrors)
                continue
            }
            let markErrors = zip(names, values).compactMap { name, value in
                joiningEdge(value.trimmedOfBlanks).map { FieldError(name, $0) }
            }
            if !markErrors.isEmpty {
                reject(markErrors)
                continue
            }
            func value(_ column: String) -> String? {
                guard let index = names.firstIndex(of: column) else { return nil }
                let trimmed = values[index].trimmedOfBlanks
                return trimmed.isEmpty ? nil : trimmed
            }
            // Split at the scalar `;`, not at `Character`s: in `a;\u{301}b` the `;` and the combining
            // mark form one grapheme, so a character split would read one group there, and the groups
            // `a` and `\u{301}b`, written back joined by `;`, would not read the same.
            let groups =
                value("groups")?.unicodeScalars.split(separator: ";").map {
                    String(Substring($0)).trimmedOfBlanks
                }
                .filter { !$0.isEmpty } ?? []
            // The groups are written back trimmed and joined by `;`, which must read back the same
            // too: `; \u{301}tm` would be written back as `"\u{301}tm`, the mark one character with
            // the opening quote, and `a\u{6DD} ;` as `"a\u{6DD}"`, the mark one with the closing one.
            if let mark = joiningEdge(groups.joined(separator: ";")) {
                reject([FieldError("groups", "joined by `;` " + mark)])
                continue
            }
            let fields = ContactFields(
                number: values[numberIndex].trimmedOfBlanks, name: value("name"),
                notes: value("notes"), groups: groups)
            let problems = fields.problems
            if problems.isEmpty {
                parsed.contacts.append(fields)
            } else {
                reject(problems)
            }
        }
        return parsed
    }

    /// Why a value that, written back quoted (RFC 4180, each quote doubled), would not read as the
    /// same value is refused; nil for any other value.
    ///
    /// Rationale: CSV readers split at characters (grapheme clusters, Unicode UAX #29), and a quote
    /// next to a joining character is one character with it, not a quote. A value that starts with a
    /// combining mark (categories Mn, Mc, Me) or another extending character (U+200D, an emoji
    /// modifier) joins the opening quote (rules GB9, GB9a); a prepended concatenation mark (U+0600–
    /// U+0605, U+06DD, U+070F, U+110BD…) at the end of a value or before a quote in it joins the
    /// quote after it (rule GB9b). Such a value would no longer read as the value imported, so it is
    /// refused instead of kept in a form that does not round-trip.
    private static func joiningEdge(_ value: String) -> String? {
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        for scalar in value.unicodeScalars {
            quoted.append(scalar)
            if scalar == "\"" { quoted.append(scalar) }
        }
        quoted.append("\"")
        let characters = Array(String(quoted))
        guard
            let index = characters.firstIndex(where: { $0 != "\"" && $0.unicodeScalars.contains("\"") }),
            let joiner = characters[index].unicodeScalars.first(where: { $0 != "\"" })
        else { return nil }
        switch (index, joiner.properties.generalCategory) {
        case (0, .nonspacingMark), (0, .spacingMark), (0, .enclosingMark):
            return "starts with the combining mark \(name(joiner)) with no character before it; "
                + "put the letter it belongs to first"
        case (0, _):
            return "starts with \(name(joiner)), which joins the character before it; "
                + "put the character it belongs to first"
        case (characters.count - 1, _):
            return "ends with \(name(joiner)), which joins the character after it; "
                + "put the text it belongs to after it, or remove it"
        default:
            return "has \(name(joiner)) before a quote, and the two read as one character; "
                + "put the text it belongs to after it, or remove it"
        }
    }

    /// Why a record with a character CSV readers cannot read as written is refused; nil when it has
    /// none. CSV readers split at characters (grapheme clusters, UAX #29 rule GB9), so a mark after
    /// a comma or a quote is one character with it: in `,\u{301}b` the comma is no separator, and the
    /// record reads as fewer columns, or as a quote inside a value, than the sender wrote. A mark
    /// after a blank that opens a value is one character with the blank, which the reader skips
    /// as space before the value, mark and all.
    private static func joinedSeparator(in record: Substring) -> String? {
        var atValueStart = true
        var quoted = false
        for (offset, character) in record.enumerated() {
            let scalars = character.unicodeScalars
            defer {
                if character == "\"" {
                    quoted.toggle()
                } else if character == ",", !quoted {
                    atValueStart = true
                } else if !(scalars.count == 1 && character.isWhitespace) {
                    atValueStart = false
                }
            }
            // Inside quotes a joined comma or blank is text, kept as it is; a CRLF is a line break.
            guard !quoted, scalars.count > 1, let first = scalars.first,
                let mark = scalars.dropFirst().first(where: { !$0.properties.isWhitespace })
            else { continue }
            let what: String
            switch first {
            case ",":
                what =
                    "the comma at character \(offset + 1) joined with \(name(mark)) after it, which reads as one character, not as a separator"
            case "\"":
                what =
                    "the quote at character \(offset + 1) joined with \(name(mark)) after it, which reads as one character, not as a quote"
            case _ where atValueStart && first.properties.isWhitespace:
                what =
                    "a blank at character \(offset + 1) joined with \(name(mark)) after it, which reads as space before the value and is dropped with the mark"
            default: continue
            }
            return "has " + what + "; put the character the mark belongs to before it, or remove the mark"
        }
        return nil
    }

    /// `U+` and at least four hex digits, as the Unicode standard names a code point.
    private static func name(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex)"
    }

    private static func isBlank(_ text: Substring) -> Bool {
        text.allSatisfy { $0.isWhitespace }
    }

    /// The values of one record whose quoting `CSVRecords` checked, read by SwiftCSV.
    private static func fields(of record: Substring) throws -> [String] {
        guard let row = try rows(of: [record]).first else { throw CSVParseError.generic(message: "no row") }
        return row
    }

    /// The values of each of `records` (whose quoting `CSVRecords` checked, none blank), read by
    /// SwiftCSV in one pass; a record SwiftCSV cannot read gives nil. If the one pass does not give
    /// exactly one row per record, each record is read on its own, so no row is ever paired with
    /// another record's values.
    private static func fields(of records: [Substring]) -> [[String]?] {
        guard !records.isEmpty else { return [] }
        if let rows = try? rows(of: records), rows.count == records.count { return rows }
        return records.map { try? fields(of: $0) }
    }

    /// SwiftCSV's rows of `records`, each ended with a line break.
    private static func rows(of records: [Substring]) throws -> [[String]] {
        var text = ""
        // SwiftCSV drops a leading U+FEFF from the text it is given (a byte order mark); one put
        // in front for it to drop keeps a value that starts with U+FEFF as it was.
        if records.first?.first == "\u{FEFF}" { text = "\u{FEFF}" }
        // A line break after every record, the last too: SwiftCSV drops a last value that is
        // empty (`a,`) unless a line break ends it.
        for record in records {
            text += record
            text += "\n"
        }
        let csv = try EnumeratedCSV(string: text, delimiter: .comma, loadColumns: false, rowLimit: 0)
        var rows: [[String]] = []
        rows.reserveCapacity(records.count)
        try csv.enumerateAsArray(startAt: 0, rowLimit: nil) { rows.append($0) }
        return rows
    }
}

extension StringProtocol {
    /// The text without the blanks (tab and the Zs spaces) at either end, trimmed code point by code
    /// point. Foundation's `trimmingCharacters(in:)` drops a whole character whose first code
    /// point is a blank: a space followed by U+0301 is one character, and the mark went with it.
    var trimmedOfBlanks: String {
        func isBlank(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "\t" || scalar.properties.generalCategory == .spaceSeparator
        }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isBlank($0) }),
            let last = scalars.lastIndex(where: { !isBlank($0) })
        else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
