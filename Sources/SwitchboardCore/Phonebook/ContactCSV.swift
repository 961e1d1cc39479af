import Foundation

/// Parses a phonebook CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF) with a header row
/// naming the columns `number`, `name`, `notes`, `groups` (groups separated by `;`).
public enum ContactCSV {
    public struct RowError: Sendable, Codable, Equatable {
        /// 1-based line of the file, counting the header as line 1.
        public var row: Int
        public var errors: [FieldError]
    }

    public struct Parsed: Sendable {
        public var contacts: [ContactFields]
        public var rowErrors: [RowError]
    }

    public static let columns = ["number", "name", "notes", "groups"]

    public enum HeaderError: Error, Equatable {
        case missingNumberColumn
        case unknownColumn(String)
        case empty
    }

    public static func parse(_ text: String) throws -> Parsed {
        // Spreadsheet programs often start UTF-8 exports with a byte-order mark.
        let records = records(in: text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
        guard let header = records.first else { throw HeaderError.empty }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        for name in names where !columns.contains(name) { throw HeaderError.unknownColumn(name) }
        guard let numberIndex = names.firstIndex(of: "number") else { throw HeaderError.missingNumberColumn }
        func value(_ record: [String], _ column: String) -> String? {
            guard let index = names.firstIndex(of: column), index < record.count else { return nil }
            let trimmed = record[index].trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }
        var parsed = Parsed(contacts: [], rowErrors: [])
        for (offset, record) in records.dropFirst().enumerated() {
            let line = offset + 2
            if record.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            if record.count != names.count {
                parsed.rowErrors.append(
                    RowError(
                        row: line,
                        errors: [FieldError("row", "has \(record.count) columns; the header has \(names.count)")]))
                continue
            }
            let groups =
                value(record, "groups")?.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty } ?? []
            let fields = ContactFields(
                number: record[numberIndex].trimmingCharacters(in: .whitespaces), name: value(record, "name"),
                notes: value(record, "notes"), groups: groups)
            let problems = fields.problems
            if problems.isEmpty {
                parsed.contacts.append(fields)
            } else {
                parsed.rowErrors.append(RowError(row: line, errors: problems))
            }
        }
        return parsed
    }

    /// Splits CSV text into records of fields.
    static func records(in text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var inQuotes = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = iterator.next()
        while let scalar = pending {
            pending = iterator.next()
            if inQuotes {
                if scalar == "\"" {
                    if pending == "\"" {
                        field.unicodeScalars.append("\"")
                        pending = iterator.next()
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"": inQuotes = true
            case ",":
                record.append(field)
                field = ""
            case "\r":
                continue
            case "\n":
                record.append(field)
                records.append(record)
                record = []
                field = ""
            default: field.unicodeScalars.append(scalar)
            }
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}
