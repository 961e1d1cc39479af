/// Writes a flat JSON object byte for byte as a sorted-keys `JSONEncoder` (`/` escaped, absent
/// optionals left out) does, for what is written once or more per message: the send answer and
/// the status callback.
///
/// Encoding a `MessageView` through `JSONEncoder` converted every key to snake case and sorted them
/// on each call; with the request parse it cost a sixth of the send path. Callers write the fields
/// in sorted key order.
package struct JSONWriter {
    private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]

    package init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    package mutating func field(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        append(key: key)
        string(value)
    }

    package mutating func field(_ key: StaticString, _ value: Int?) {
        guard let value else { return }
        append(key: key)
        bytes.append(contentsOf: String(value).utf8)
    }

    package mutating func field(_ key: StaticString, _ value: [String]?) {
        guard let value else { return }
        append(key: key)
        bytes.append(UInt8(ascii: "["))
        for (index, item) in value.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(item)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// The finished object.
    package mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func append(key: StaticString) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    private mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                bytes.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8) + Array([byte].hexString.utf8))
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
