/// Little binary writer and reader for frame bodies: integers big-endian, strings and byte runs with
/// a 4-byte length.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func u8(_ value: UInt8) { bytes.append(value) }

    public mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    public mutating func i64(_ value: Int64) {
        let raw = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((raw >> UInt64(shift)) & 0xFF)) }
    }

    public mutating func u64(_ value: UInt64) { i64(Int64(bitPattern: value)) }

    public mutating func data(_ value: some Collection<UInt8>) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func string(_ value: String) { data(Array(value.utf8)) }
}

public struct WireReader: Sendable {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var atEnd: Bool { offset == bytes.count }

    public mutating func u8() throws -> UInt8 {
        guard offset < bytes.count else { throw FrameError.truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u32() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 { value = value << 8 | UInt32(try u8()) }
        return value
    }

    public mutating func i64() throws -> Int64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(try u8()) }
        return Int64(bitPattern: value)
    }

    public mutating func u64() throws -> UInt64 { UInt64(bitPattern: try i64()) }

    public mutating func data() throws -> [UInt8] {
        let count = Int(try u32())
        guard count <= bytes.count - offset else { throw FrameError.truncated }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    public mutating func string() throws -> String { String(decoding: try data(), as: UTF8.self) }
}
