/// Splits CSV text into records, each with its record number, the line it starts on and, when its
/// quoting is malformed, what is wrong; `ContactCSV` hands the good records to SwiftCSV for their
/// fields.
///
/// Rationale: SwiftCSV (RFC 4180 fields, doubled quotes, quoted line breaks) reads a whole document
/// and, on malformed quoting, either throws for the whole document without saying where, or (for a
/// quote that is never closed) reads to the end of the file as one value. An import must instead
/// name the bad record and keep the good ones around it. So this scanner finds the records and
/// checks their quoting, and a bad record costs only itself: reading goes on at the line after the
/// one it started on, whatever its quotes seemed to span.
///
/// Characters are compared as `Character`s (grapheme clusters), as SwiftCSV does, so that both
/// agree on what is a quote: a quote followed by a combining mark is not one for either.
///
/// The quoting rules (RFC 4180 section 2, with spaces allowed around a quoted value):
/// - a value is quoted when its first non-blank character is `"`; inside it `""` is a quote, and
///   commas and line breaks are text;
/// - after the closing quote only blanks may come before the next comma or line break;
/// - an unquoted value holds no `"`;
/// - records end at LF, CRLF or CR outside quotes; other line separators (U+0085, U+2028, U+2029)
///   and vertical tab or form feed are refused outside quotes, since some programs break lines at them.
struct CSVRecords: Sequence, IteratorProtocol {
    struct Record {
        /// 1-based, counting the header as 1 and a blank line as a record.
        var number: Int
        /// 1-based line of the text where the record starts.
        var line: Int
        /// The record without its line break.
        var text: Substring
        var problem: Problem?
    }

    struct Problem: Equatable {
        /// 0-based column where the quoting broke.
        var column: Int
        /// What is wrong and how to fix it, to follow the column's name.
        var message: String
    }

    private let text: String
    private var position: String.Index
    private var line = 1
    private var number = 0

    init(_ text: String) {
        self.text = text
        position = text.startIndex
    }

    private static func isLineBreak(_ character: Character) -> Bool {
        character == "\n" || character == "\r\n" || character == "\r"
    }

    private static let quoteAdvice = "quote the whole value and double each quote in it, e.g. \"O\"\"Brien\""

    mutating func next() -> Record? {
        guard position < text.endIndex else { return nil }
        enum State { case fieldStart, unquoted, quoted, closed }
        let start = position
        let startLine = line
        number += 1
        var state = State.fieldStart
        var column = 0
        var currentLine = line
        var opened = (line: line, column: 0)
        var problem: Problem?
        var index = start
        scan: while index < text.endIndex {
            let character = text[index]
            if state == .quoted {
                if character == "\"" {
                    let after = text.index(after: index)
                    if after < text.endIndex, text[after] == "\"" {
                        index = text.index(after: after)
                        continue
                    }
                    state = .closed
                } else if Self.isLineBreak(character) {
                    currentLine += 1
                }
                index = text.index(after: index)
                continue
            }
            if Self.isLineBreak(character) {
                position = text.index(after: index)
                line = currentLine + 1
                return Record(number: number, line: startLine, text: text[start..<index], problem: nil)
            }
            if character.isNewline {
                let scalar = character.unicodeScalars.first!
                let message =
                    TextRule.problem(String(character))
                    ?? "has \(scalar.codePoint) outside quotes (line \(currentLine)), which some programs read as a line break; quote the value"
                problem = Problem(column: column, message: message)
                break scan
            }
            switch state {
            case .fieldStart:
                if character == "\"" {
                    state = .quoted
                    opened = (currentLine, column)
                } else if character == "," {
                    column += 1
                } else if !character.isWhitespace {
                    state = .unquoted
                }
            case .unquoted:
                if character == "," {
                    column += 1
                    state = .fieldStart
                } else if character == "\"" {
                    problem = Problem(
                        column: column,
                        message: "has a quote inside an unquoted value (line \(currentLine)); \(Self.quoteAdvice)")
                    break scan
                }
            case .closed:
                if character == "," {
                    column += 1
                    state = .fieldStart
                } else if !character.isWhitespace {
                    problem = Problem(
                        column: column,
                        message: "has text after its closing quote (line \(currentLine)); \(Self.quoteAdvice)")
                    break scan
                }
            case .quoted: break
            }
            index = text.index(after: index)
        }
        if problem == nil {
            guard state == .quoted else {
                position = text.endIndex
                line = currentLine
                return Record(number: number, line: startLine, text: text[start...], problem: nil)
            }
            problem = Problem(
                column: opened.column,
                message: "opens a quote at line \(opened.line) that is never closed; close it, or \(Self.quoteAdvice)")
        }
        // A bad record costs only itself: go on at the line after its first, ignoring its quotes.
        var end = start
        while end < text.endIndex, !Self.isLineBreak(text[end]) { end = text.index(after: end) }
        position = end < text.endIndex ? text.index(after: end) : end
        line = startLine + 1
        return Record(number: number, line: startLine, text: text[start..<end], problem: problem)
    }
}

extension Unicode.Scalar {
    /// `U+2028`: the code point as Unicode writes it.
    fileprivate var codePoint: String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
