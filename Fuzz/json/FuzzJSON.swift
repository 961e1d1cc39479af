// libFuzzer entry for `JSONParser` (Sources/SwitchboardCore/Support/JSONParser.swift), built by
// `scripts/fuzz build` in one module with the parser, `JSONValue`, `JSONWriter` and the byte
// encodings the writer uses. Besides "no crash" it checks:
// - a refusal names an offset inside the input;
// - every string, whole number and string array the parser returns, written by `JSONWriter`, parses
//   back to the same value (the writer and the parser agree on escapes);
// - the whole value, written canonically below, parses back to the same value.

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Every string (keys too), whole number and array of strings in `value`, depth first.
func visit(
    _ value: JSONValue, string: (String) -> Void, whole: (Int) -> Void, strings: ([String]) -> Void
) {
    switch value {
    case .null, .bool: break
    case .number(let number): if let integer = Int(exactly: number) { whole(integer) }
    case .string(let text): string(text)
    case .array(let items):
        let texts = items.compactMap { item -> String? in if case .string(let text) = item { text } else { nil } }
        if texts.count == items.count { strings(texts) }
        for item in items { visit(item, string: string, whole: whole, strings: strings) }
    case .object(let object):
        for (key, item) in object {
            string(key)
            visit(item, string: string, whole: whole, strings: strings)
        }
    }
}

func reparsed(_ bytes: [UInt8], _ what: @autoclosure () -> String) -> JSONValue {
    do {
        return try JSONParser.parse(bytes)
    } catch {
        fatalError(
            "\(what()) written as \(String(decoding: bytes, as: UTF8.self)) is refused at byte \(error.offset)")
    }
}

/// Canonical JSON of any value: `\u` escapes for all control characters, numbers as Swift prints
/// them (valid JSON for every finite double); nil when the value holds a non-finite number.
func canonical(_ value: JSONValue, into out: inout [UInt8]) -> Bool {
    switch value {
    case .null: out += Array("null".utf8)
    case .bool(let flag): out += Array((flag ? "true" : "false").utf8)
    case .number(let number):
        guard number.isFinite else { return false }
        out += Array("\(number)".utf8)
    case .string(let text): quote(text, into: &out)
    case .array(let items):
        out.append(UInt8(ascii: "["))
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard canonical(item, into: &out) else { return false }
        }
        out.append(UInt8(ascii: "]"))
    case .object(let object):
        out.append(UInt8(ascii: "{"))
        for (index, key) in object.keys.sorted().enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            quote(key, into: &out)
            out.append(UInt8(ascii: ":"))
            guard canonical(object[key]!, into: &out) else { return false }
        }
        out.append(UInt8(ascii: "}"))
    }
    return true
}

func quote(_ text: String, into out: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    out.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
        case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        default: out.append(byte)
        }
    }
    out.append(UInt8(ascii: "\""))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let value: JSONValue
    do {
        value = try JSONParser.parse(bytes)
    } catch {
        check((0...bytes.count).contains(error.offset), "refused at byte \(error.offset) of \(bytes.count)")
        return 0
    }
    visit(
        value,
        string: { text in
            var writer = JSONWriter()
            writer.field("s", text)
            check(
                reparsed(writer.finish(), "the string \(text.debugDescription)") == .object(["s": .string(text)]),
                "JSONWriter's string \(text.debugDescription) parses back as another value")
        },
        whole: { integer in
            var writer = JSONWriter()
            writer.field("n", integer)
            check(
                reparsed(writer.finish(), "the number \(integer)") == .object(["n": .number(Double(integer))]),
                "JSONWriter's number \(integer) parses back as another value")
        },
        strings: { texts in
            var writer = JSONWriter()
            writer.field("a", texts)
            check(
                reparsed(writer.finish(), "the array \(texts)") == .object(["a": .array(texts.map { .string($0) })]),
                "JSONWriter's array \(texts) parses back as another value")
        })
    var out: [UInt8] = []
    if canonical(value, into: &out) {
        check(reparsed(out, "a parsed value") == value, "a parsed value changes when written and parsed again")
    }
    return 0
}
