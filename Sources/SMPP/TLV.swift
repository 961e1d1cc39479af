/// An optional parameter (SMPP 3.4 §5.3): a tag, and a value of `length` octets.
public struct TLV: Sendable, Equatable {
    public var tag: UInt16
    public var value: [UInt8]

    public init(tag: UInt16, value: [UInt8]) {
        self.tag = tag
        self.value = value
    }

    // Tags used here (SMPP 3.4 §5.3.2).
    public static let userMessageReference: UInt16 = 0x0204
    public static let sarMessageReference: UInt16 = 0x020C
    public static let sarTotalSegments: UInt16 = 0x020E
    public static let sarSegmentSequence: UInt16 = 0x020F
    public static let scInterfaceVersion: UInt16 = 0x0210
    public static let receiptedMessageID: UInt16 = 0x001E
    public static let networkErrorCode: UInt16 = 0x0423
    public static let messagePayload: UInt16 = 0x0424
    public static let messageState: UInt16 = 0x0427

    /// A C-Octet String value (`receipted_message_id`): the text up to the first NUL.
    public var cString: String {
        String(decoding: value.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// A big-endian integer value of 1, 2 or 4 octets; nil for another length.
    public var integer: UInt32? {
        guard [1, 2, 4].contains(value.count) else { return nil }
        return value.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public static func integer(_ tag: UInt16, _ value: UInt32, octets: Int) -> TLV {
        TLV(tag: tag, value: (0..<octets).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
    }

    public static func cString(_ tag: UInt16, _ value: String) -> TLV {
        TLV(tag: tag, value: Array(value.utf8) + [0])
    }
}

extension Array where Element == TLV {
    /// The first parameter with `tag`.
    public subscript(tag tag: UInt16) -> TLV? { first { $0.tag == tag } }
}
