/// A strict RFC 8259 parser from UTF-8 bytes to `JSONValue`, for request bodies, configuration,
/// consent files and manifests. Unlike Foundation's reader it refuses trailing commas.
///
/// It also keeps to I-JSON (RFC 7493), so that what it returns is exactly what the document says:
/// - a key appears at most once in an object (§2.3); Foundation and most readers let the last one
///   win silently, so `{"to":A,"to":B}` meant B to us and A to a proxy that read the first;
/// - a number lies within ±2^53 (§2.2: the range where a double holds every integer), and is neither
///   too large for a double (`1e400`) nor so small that it reads as 0 (`1e-400`);
/// - strings are valid UTF-8 and `\u` escapes of surrogates come in high-low pairs (§2.1).
/// Nesting deeper than `maxDepth` is refused rather than recursed into.
///
/// `JSONDecoder` into `JSONValue` had to guess each value's type by trying `Decodable` types in turn,
/// and every wrong guess built and threw a `DecodingError`: parsing a four-field send request cost
/// more than storing the message. This reads each value once, by its first byte.
package struct JSONParser {
    /// Why and where a document was refused.
    package struct Malformed: Error, Equatable, CustomStringConvertible {
        package enum Reason: Sendable, Equatable {
            /// Not JSON: a stray character, a missing comma or quote, a trailing comma.
            case syntax
            /// Arrays and objects nested deeper than `JSONParser.maxDepth`.
            case tooDeep
            /// A string holds bytes that are not UTF-8.
            case invalidUTF8
            /// A `\u` escape of U+D800–U+DFFF that is not a high surrogate followed by a low one.
            case loneSurrogate
            /// The key (its text) appears twice in one object.
            case duplicateKey(String)
            /// A number a double cannot hold exactly: beyond ±2^53, or too large or too small.
            case inexactNumber
        }

        /// Byte offset at which the input stopped being acceptable (for a duplicate key, the
        /// offset of its second occurrence; for a number, of its first character).
        package var offset: Int
        package var reason: Reason
        /// Object keys and array indexes from the root to the value at fault, e.g. `["groups", "[2]"]`
        /// for the third entry of `groups`; empty for syntax errors and nesting, which belong to no field.
        package var path: [String]

        package init(offset: Int, reason: Reason = .syntax, path: [String] = []) {
            self.offset = offset
            self.reason = reason
            self.path = path
        }

        /// The path as a field name: `to`, `account.name`, `groups[2]`; nil at the root.
        package var field: String? {
            guard !path.isEmpty else { return nil }
            var out = ""
            for component in path {
                if !out.isEmpty, !component.hasPrefix("[") { out += "." }
                out += component
            }
            return out
        }

        /// What was wrong, for a person: the byte offset and, where it helps, how to fix it.
        package var description: String {
            switch reason {
            case .syntax: "is not valid JSON at byte \(offset); check quotes, commas and braces"
            case .tooDeep:
                "is nested too deeply at byte \(offset): at most \(JSONParser.maxDepth) levels of arrays and objects"
            case .invalidUTF8: "is not UTF-8 at byte \(offset); send text encoded as UTF-8"
            case .loneSurrogate:
                "has a lone surrogate escape at byte \(offset); write U+D800 to U+DFFF only as a high-low pair, e.g. \\ud83d\\ude00"
            case .duplicateKey(let key):
                "has the key \"\(key)\" more than once in one object (again at byte \(offset)); send each key once"
            case .inexactNumber:
                "has a number at byte \(offset) that cannot be kept exactly: numbers must lie within ±9007199254740992 (2^53); send larger values as strings"
            }
        }

        /// `self` as found inside the value under `component` (a key, or `[index]`).
        fileprivate func within(_ component: String) -> Malformed {
            switch reason {
            case .syntax, .tooDeep: self
            default: Malformed(offset: offset, reason: reason, path: [component] + path)
            }
        }
    }

    /// Deeper nesting than any request needs is refused rather than recursed into.
    package static let maxDepth = 64

    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The one value `bytes` holds, with nothing but whitespace around it.
    ///
    /// The entry point for fuzzing: any bytes either return a value or throw `Malformed`, and
    /// nesting is bounded, so no input can trap or exhaust the stack.
    package static func parse(_ bytes: [UInt8]) throws(Malformed) -> JSONValue {
        var parser = JSONParser(bytes)
        // A byte order mark, as some editors write at the start of a file, is not content.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw Malformed(offset: parser.index) }
        return value
    }

    private var malformed: Malformed { Malformed(offset: index) }

    private mutating func skipWhitespace() {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D
                || bytes[index] == 0x09
        {
            index += 1
        }
    }

    private mutating func value(depth: Int) throws(Malformed) -> JSONValue {
        guard depth < Self.maxDepth else { throw Malformed(offset: index, reason: .tooDeep) }
        guard index < bytes.count else { throw malformed }
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func literal(_ word: StaticString) throws(Malformed) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw malformed }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw malformed }
        index += count
    }

    private mutating func object(depth: Int) throws(Malformed) -> JSONValue {
        index += 1  // {
        var object: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw malformed }
            let keyOffset = index
            let key = try string()
            // I-JSON (RFC 7493 §2.3): names are unique. Last-one-wins would act on half the request.
            // Keys are compared as `String`s, so two spellings of one canonically equivalent text
            // (é and e + U+0301) are one key here too; a dictionary could not hold both anyway.
            guard object[key] == nil else {
                throw Malformed(offset: keyOffset, reason: .duplicateKey(key), path: [key])
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw malformed }
            index += 1
            skipWhitespace()
            do {
                object[key] = try value(depth: depth + 1)
            } catch {
                throw error.within(key)
            }
            skipWhitespace()
            guard index < bytes.count else { throw malformed }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw malformed }
            index += 1
            return .object(object)
        }
    }

    private mutating func array(depth: Int) throws(Malformed) -> JSONValue {
        index += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            do {
                items.append(try value(depth: depth + 1))
            } catch {
                throw error.within("[\(items.count)]")
            }
            skipWhitespace()
            guard index < bytes.count else { throw malformed }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw malformed }
            index += 1
            return .array(items)
        }
    }

    /// A string starting at the opening quote; its bytes must be valid UTF-8.
    private mutating func string() throws(Malformed) -> String {
        index += 1  // "
        let start = index
        // The common case: no escapes, so the bytes are the string.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return try text(bytes[start..<index], source: start..<index)
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw malformed }
            index += 1
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return try text(out[...], source: start..<index - 1)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw malformed }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): appendUTF8(try unicodeEscape(at: index - 2), to: &out)
                default: throw Malformed(offset: index - 1)
                }
            default:
                guard byte >= 0x20 else { throw malformed }
                out.append(byte)
                index += 1
            }
        }
        throw malformed
    }

    /// `utf8` (the string's bytes, escapes resolved) as text; `source` is where it stands in the input,
    /// to name the first byte that is not UTF-8.
    private func text(_ utf8: ArraySlice<UInt8>, source: Range<Int>) throws(Malformed) -> String {
        if let text = String(validating: utf8, as: UTF8.self) { return text }
        // Escapes are ASCII, so the first bad sequence is a raw one: find it in the input.
        var offset = source.lowerBound
        var decoder = UTF8()
        var iterator = bytes[source].makeIterator()
        while case .scalarValue(let scalar) = decoder.decode(&iterator) { offset += UTF8.width(scalar) }
        throw Malformed(offset: offset, reason: .invalidUTF8)
    }

    /// The scalar of a `\uXXXX` escape (the `\u` already read, its backslash at `start`), joining a
    /// surrogate pair. A high surrogate not followed by a low one, or a low one alone, is refused:
    /// it stands for no character, and `String` would turn it into U+FFFD.
    private mutating func unicodeEscape(at start: Int) throws(Malformed) -> Unicode.Scalar {
        let lone = Malformed(offset: start, reason: .loneSurrogate)
        let first = try hex4()
        if (0xD800..<0xDC00).contains(first) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw lone }
            index += 2
            let second = try hex4()
            guard (0xDC00..<0xE000).contains(second) else { throw lone }
            let scalar = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            guard let value = Unicode.Scalar(scalar) else { throw lone }
            return value
        }
        guard let value = Unicode.Scalar(first) else { throw lone }  // A low surrogate alone.
        return value
    }

    private mutating func hex4() throws(Malformed) -> UInt32 {
        guard index + 4 <= bytes.count else { throw malformed }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw malformed
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        out.append(contentsOf: UTF8.encode(scalar)!)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, within ±2^53 (I-JSON, RFC 7493 §2.2).
    private mutating func number() throws(Malformed) -> Double {
        let start = index
        func digits() -> Int {
            let from = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - from
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw malformed }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            throw malformed
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw malformed }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits() > 0 else { throw malformed }
        }
        let literal = bytes[start..<index]
        guard let value = Double(String(decoding: literal, as: UTF8.self)) else { throw Malformed(offset: start) }
        switch Self.magnitude(literal) {
        case .beyondLimit: throw Malformed(offset: start, reason: .inexactNumber)
        // A number written non-zero that reads as 0 (1e-400) is not the number written.
        case .withinLimit where value == 0: throw Malformed(offset: start, reason: .inexactNumber)
        case .zero, .withinLimit: return value
        }
    }

    private enum Magnitude { case zero, withinLimit, beyondLimit }

    /// The significant digits of 2^53, the last integer such that it and every integer below it
    /// have a double of their own.
    private static let limitDigits = Array("9007199254740992".utf8)

    /// Where the number written in `literal` (already checked against the grammar) stands against
    /// 2^53, decided on its digits rather than on its double: 9007199254740993 reads as the double
    /// 9007199254740992, which is within the limit, though the number written is not.
    ///
    /// The literal is read as 0.S × 10^P, S its significant digits without leading or trailing zeros;
    /// 2^53 is 0.9007199254740992 × 10^16.
    private static func magnitude(_ literal: ArraySlice<UInt8>) -> Magnitude {
        var index = literal.startIndex
        if literal[index] == UInt8(ascii: "-") { index += 1 }
        var integerDigits = 0
        var leadingZeros = 0  // Zeros before the first significant digit, across the point.
        var significant: [UInt8] = []
        var pendingZeros = 0  // Zeros after the last significant digit so far.
        var afterPoint = false
        var exponent = 0
        while index < literal.endIndex {
            let byte = literal[index]
            index += 1
            switch byte {
            case UInt8(ascii: "."): afterPoint = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                var negative = false
                if literal[index] == UInt8(ascii: "+") || literal[index] == UInt8(ascii: "-") {
                    negative = literal[index] == UInt8(ascii: "-")
                    index += 1
                }
                // Clamped: anything past a million digits is as far out of range as it matters.
                for digit in literal[index...] {
                    exponent = min(exponent * 10 + Int(digit - UInt8(ascii: "0")), 1_000_000)
                }
                if negative { exponent = -exponent }
                index = literal.endIndex
            default:
                if !afterPoint { integerDigits += 1 }
                if byte == UInt8(ascii: "0") {
                    if significant.isEmpty { leadingZeros += 1 } else { pendingZeros += 1 }
                } else {
                    // Keep only as many digits as the comparison needs, plus one that says "more".
                    if significant.count <= limitDigits.count {
                        significant.append(
                            contentsOf: repeatElement(UInt8(ascii: "0"), count: min(pendingZeros, limitDigits.count)))
                        significant.append(byte)
                    }
                    pendingZeros = 0
                }
            }
        }
        guard !significant.isEmpty else { return .zero }
        let power = integerDigits - leadingZeros + exponent
        if power != 16 { return power > 16 ? .beyondLimit : .withinLimit }
        return limitDigits.lexicographicallyPrecedes(significant) ? .beyondLimit : .withinLimit
    }
}
