// libFuzzer entry for the phonebook CSV import, `ContactCSV.parse(_: Data)`
// (Sources/SwitchboardCore/Phonebook/ContactCSV.swift). `scripts/fuzz build` compiles SwiftCSV's
// sources (from .build/checkouts) as a module, then this file with ContactCSV.swift, CSVRecords.swift,
// ContactFields.swift and the few Support files they use. Besides "no crash" it checks:
// - every imported contact is valid and every rejected row names its row, line and problems;
// - the imported contacts, written back as CSV with every value quoted, import as the same contacts.

import Foundation

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// RFC 4180 with every value quoted and each quote doubled; groups joined by `;`.
func csv(_ contacts: [ContactFields]) -> Data {
    func quoted(_ value: String) -> String { "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    var out = "number,name,notes,groups\r\n"
    for contact in contacts {
        out +=
            [contact.number, contact.name ?? "", contact.notes ?? "", contact.groups.joined(separator: ";")]
            .map(quoted).joined(separator: ",") + "\r\n"
    }
    return Data(out.utf8)
}

/// Whether a value of `contact`, quoted as `csv` writes it, has a quote that joins the character
/// next to it into one grapheme cluster (a combining mark such as U+0301 after the opening quote, a
/// prepended mark such as U+06DD before a closing or doubled quote): it would no longer read as
/// quoted, so `ContactCSV` refuses such values and none may be imported.
func joinsAQuote(_ contact: ContactFields) -> Bool {
    [contact.number, contact.name ?? "", contact.notes ?? "", contact.groups.joined(separator: ";")].contains {
        var quoted = String.UnicodeScalarView(["\""])
        for scalar in $0.unicodeScalars { quoted.append(contentsOf: scalar == "\"" ? ["\"", "\""] : [scalar]) }
        quoted.append("\"")
        return String(quoted).contains { $0 != "\"" && $0.unicodeScalars.contains("\"") }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    let parsed: ContactCSV.Parsed
    do {
        parsed = try ContactCSV.parse(bytes)
    } catch {
        return 0  // A refused file is an answer; typed throws make it a HeaderError.
    }
    for contact in parsed.contacts {
        check(contact.problems.isEmpty, "imported an invalid contact: \(contact)")
        for text in [contact.number, contact.name ?? "", contact.notes ?? ""] + contact.groups {
            check(TextRule.problem(text) == nil, "imported text that breaks TextRule: \(text.debugDescription)")
        }
    }
    var lastRow = 1
    var lastLine = 1
    for error in parsed.rowErrors {
        check(error.row > lastRow && error.line > lastLine, "row errors out of order: \(parsed.rowErrors)")
        check(!error.errors.isEmpty, "row \(error.row) is rejected without a reason")
        for problem in error.errors {
            check(!problem.field.isEmpty && !problem.message.isEmpty, "row \(error.row): an empty problem \(problem)")
        }
        lastRow = error.row
        lastLine = error.line
    }
    for contact in parsed.contacts {
        check(!joinsAQuote(contact), "imported a value whose quotes would join the text next to them: \(contact)")
    }
    guard !parsed.contacts.isEmpty else { return 0 }
    let written = csv(parsed.contacts)
    do {
        let again = try ContactCSV.parse(written)
        check(
            again.contacts == parsed.contacts && again.rowErrors.isEmpty,
            "contacts change when written as CSV and imported again: \(parsed.contacts) became \(again.contacts), "
                + "rejected \(again.rowErrors), from \(String(decoding: written, as: UTF8.self).debugDescription)")
    } catch {
        fatalError("imported contacts, written as CSV, are refused: \(error)")
    }
    return 0
}
