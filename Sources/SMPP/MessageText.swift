/// How a connector writes text an SMSC can deliver, and reads what it receives.
public struct TextCoding: Sendable, Equatable {
    /// How GSM-7 text (data_coding 0) sits in `short_message`: one septet per octet (what most
    /// SMSCs expect over SMPP, Kannel's default) or packed 8 septets into 7 octets.
    public enum Packing: String, Sendable, Equatable, CaseIterable { case unpacked, packed }
    /// How text too long for one SMS travels.
    public enum LongMessages: String, Sendable, Equatable, CaseIterable {
        /// One `submit_sm` per part, each with a concatenation user data header (esm_class 0x40,
        /// 3GPP TS 23.040 §9.2.3.24.1).
        case udh
        /// One `submit_sm`, the whole text in the `message_payload` TLV (SMPP 3.4 §5.3.2.32).
        case messagePayload = "message_payload"
        /// One `submit_sm` per part with the `sar_*` TLVs (SMPP 3.4 §5.3.2.22–24).
        case sar
    }

    public var packing: Packing
    public var longMessages: LongMessages

    public init(packing: Packing = .unpacked, longMessages: LongMessages = .udh) {
        self.packing = packing
        self.longMessages = longMessages
    }

    /// data_coding values (SMPP 3.4 §5.2.19).
    public static let defaultAlphabet: UInt8 = 0
    public static let ia5: UInt8 = 1
    public static let latin1: UInt8 = 3
    public static let ucs2: UInt8 = 8

    /// One PDU's worth of text.
    public struct Part: Sendable, Equatable {
        public var shortMessage: [UInt8]
        /// 0x40 when `shortMessage` starts with a user data header.
        public var esmClass: UInt8
        public var tlvs: [TLV]
    }

    /// `text` as the data_coding it needs (GSM-7 when every character is in the alphabet, else
    /// UCS-2) and the parts to submit, split without breaking an escape or a surrogate pair.
    /// `reference` tells this message's parts from another's (the concatenation reference).
    public func encode(_ text: String, reference: UInt16) -> (dataCoding: UInt8, parts: [Part]) {
        // Each character's units: septets for GSM-7, UTF-16 big-endian octet pairs for UCS-2.
        let units: [[UInt8]]
        let dataCoding: UInt8
        let single: Int
        let perPart: Int
        let gsm = text.map(GSM7.septets(of:))
        if !gsm.contains(where: { $0 == nil }) {
            units = gsm.compactMap { $0 }
            dataCoding = Self.defaultAlphabet
            (single, perPart) = (160, 153)
        } else {
            units = text.unicodeScalars.map { scalar in
                String(scalar).utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
            }
            dataCoding = Self.ucs2
            (single, perPart) = (140, 134)  // octets: 70 and 67 UTF-16 units
        }
        let all = units.flatMap { $0 }
        let encodeBody: ([UInt8], Int) -> [UInt8] = { body, fill in
            dataCoding == Self.defaultAlphabet && packing == .packed ? GSM7.pack(body, fillBits: fill) : body
        }
        if all.count <= single {
            return (dataCoding, [Part(shortMessage: encodeBody(all, 0), esmClass: 0, tlvs: [])])
        }
        if longMessages == .messagePayload {
            return (
                dataCoding,
                [Part(shortMessage: [], esmClass: 0, tlvs: [TLV(tag: TLV.messagePayload, value: encodeBody(all, 0))])]
            )
        }
        var chunks: [[UInt8]] = [[]]
        for unit in units {
            if chunks[chunks.count - 1].count + unit.count > perPart { chunks.append([]) }
            chunks[chunks.count - 1] += unit
        }
        let total = UInt8(clamping: chunks.count)
        let parts = chunks.enumerated().map { index, chunk -> Part in
            let sequence = UInt8(clamping: index + 1)
            switch longMessages {
            case .sar:
                return Part(
                    shortMessage: encodeBody(chunk, 0), esmClass: 0,
                    tlvs: [
                        TLV.integer(TLV.sarMessageReference, UInt32(reference), octets: 2),
                        TLV.integer(TLV.sarTotalSegments, UInt32(total), octets: 1),
                        TLV.integer(TLV.sarSegmentSequence, UInt32(sequence), octets: 1),
                    ])
            default:
                // 8-bit reference IE (0x00): 6 octets with the header length, so 7 fill bits
                // would align packed septets; 48 bits + 1 fill bit = 7 septets.
                let header: [UInt8] = [0x05, 0x00, 0x03, UInt8(truncatingIfNeeded: reference), total, sequence]
                return Part(shortMessage: header + encodeBody(chunk, 1), esmClass: 0x40, tlvs: [])
            }
        }
        return (dataCoding, parts)
    }

    /// Where a received part belongs, when it is one part of a longer message.
    public struct Concatenation: Sendable, Equatable, Hashable {
        public var reference: UInt16
        public var total: UInt8
        public var sequence: UInt8
        /// Whether the reference is 16 bits (element 0x08, or `sar_msg_ref_num`, SMPP 3.4 §5.3.2.22)
        /// rather than 8 (element 0x00).
        public var isWide: Bool

        /// The reference as parts are filed under: 8-bit references 0–255, 16-bit ones 65,536 and
        /// up. A sender numbers its 8-bit and 16-bit references apart (3GPP TS 23.040 §9.2.3.24.8),
        /// so reference 7 of one kind and 7 of the other are two messages.
        public var key: Int { isWide ? 0x1_0000 | Int(reference) : Int(reference) }
    }

    /// `value` as at least four upper-case hex digits, as Unicode writes code points.
    public static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Why `content` is not text of `dataCoding` as sent, or nil.
    static func unreadable(_ content: ArraySlice<UInt8>, dataCoding: UInt8, packed: Bool) -> String? {
        switch dataCoding {
        case defaultAlphabet where !packed, ia5:
            guard let index = content.firstIndex(where: { $0 > 0x7F }) else { return nil }
            let alphabet =
                dataCoding == ia5
                ? "IA5 (7-bit ASCII, data_coding 1)" : "GSM 03.38 (data_coding 0, one septet an octet)"
            return
                "has octet 0x\(String(content[index], radix: 16)) at position \(index - content.startIndex + 1), outside \(alphabet); send 8-bit text as UCS-2 (data_coding 8)"
        case ucs2 where content.count % 2 != 0:
            return "has \(content.count) octets; UCS-2 text (data_coding 8) is two octets a character"
        default:
            return nil
        }
    }

    /// The index of the first UTF-16 code unit that is a surrogate without its pair, or nil.
    /// - Parameters:
    ///   - leadAtEnd: a lead surrogate as the last unit is not lone (a part that ends inside a character).
    ///   - trailAtStart: a trail surrogate as the first unit is not lone (a part that starts inside one).
    static func loneSurrogate(in units: [UInt16], leadAtEnd: Bool = false, trailAtStart: Bool = false) -> Int? {
        var index = trailAtStart && units.first.map(UTF16.isTrailSurrogate) == true ? 1 : 0
        while index < units.count {
            let unit = units[index]
            if UTF16.isLeadSurrogate(unit) {
                if leadAtEnd, index == units.count - 1 { return nil }
                guard index + 1 < units.count, UTF16.isTrailSurrogate(units[index + 1]) else { return index }
                index += 2
                continue
            }
            if UTF16.isTrailSurrogate(unit) { return index }
            index += 1
        }
        return nil
    }

    /// The concatenation information element (8-bit 0x00 or 16-bit 0x08 reference) in a header,
    /// its information elements without the length octet (3GPP TS 23.040 §9.2.3.24.1, .8).
    public static func concatenation(in header: [UInt8]) -> Concatenation? {
        var index = 0
        while index + 1 < header.count {
            let id = header[index]
            let length = Int(header[index + 1])
            // An element whose value runs past the header is not read as one: taking what is
            // there would file a part under numbers the sender never wrote.
            guard index + 2 + length <= header.count else { return nil }
            let value = header.dropFirst(index + 2).prefix(length)
            if id == 0x00, value.count == 3 {
                let bytes = Array(value)
                return Concatenation(reference: UInt16(bytes[0]), total: bytes[1], sequence: bytes[2], isWide: false)
            }
            if id == 0x08, value.count == 4 {
                let bytes = Array(value)
                return Concatenation(
                    reference: UInt16(bytes[0]) << 8 | UInt16(bytes[1]), total: bytes[2], sequence: bytes[3],
                    isWide: true)
            }
            index += 2 + length
        }
        return nil
    }
}
