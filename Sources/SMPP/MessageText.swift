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
    }

    /// The text of a received `submit_sm` or `deliver_sm` and, for one part of a longer message,
    /// which (from a concatenation user data header or the `sar_*` TLVs).
    /// - Parameter strict: refuse text that cannot be read as sent instead of repairing it (what a
    ///   server does with a customer's `submit_sm`, whose client can correct and resend it): an octet
    ///   above 0x7F in GSM 03.38 unpacked or IA5 text, UCS-2 with an odd octet count or a lone
    ///   surrogate (RFC 2781), and NUL or another C0 control other than tab, line feed and carriage
    ///   return (the rule `POST /v1/messages` applies to a body). Not strict: such text is read as
    ///   well as it can be (a carrier's `deliver_sm` is not refused over it).
    /// - Throws: `SMPPError.malformed` for a user data header longer than the message, a
    ///   data_coding this codec does not read (anything but 0, 1, 3 and 8), or, when `strict`,
    ///   text that cannot be read as sent; the reason names the octet or character.
    public func decode(
        _ message: ShortMessage, command: CommandID, sequence: UInt32, strict: Bool = false
    ) throws(SMPPError) -> (
        text: String, part: Concatenation?
    ) {
        var content = message.content[...]
        // A fault is named where the text was: message_payload stands in for short_message.
        let field = message.tlvs[tag: TLV.messagePayload] != nil ? "message_payload" : "short_message"
        var part: Concatenation?
        var fillBits = 0
        if message.hasUserDataHeader {
            guard let length = content.first, content.count > Int(length) else {
                throw .malformed(
                    command: command, sequence: sequence, field: field,
                    reason: "has esm_class 0x40 (a user data header) but the header is longer than the message")
            }
            let header = Array(content.dropFirst().prefix(Int(length)))
            part = Self.concatenation(in: header)
            content = content.dropFirst(Int(length) + 1)
            let headerBits = (Int(length) + 1) * 8
            fillBits = (7 - headerBits % 7) % 7
        } else if let reference = message.tlvs[tag: TLV.sarMessageReference]?.integer,
            let total = message.tlvs[tag: TLV.sarTotalSegments]?.integer,
            let sequenceNumber = message.tlvs[tag: TLV.sarSegmentSequence]?.integer
        {
            part = Concatenation(
                reference: UInt16(truncatingIfNeeded: reference), total: UInt8(truncatingIfNeeded: total),
                sequence: UInt8(truncatingIfNeeded: sequenceNumber))
        }
        if strict, let reason = Self.unreadable(content, dataCoding: message.dataCoding, packed: packing == .packed) {
            throw .malformed(command: command, sequence: sequence, field: field, reason: reason)
        }
        let text: String
        switch message.dataCoding {
        case Self.defaultAlphabet:
            let septets = packing == .packed ? GSM7.unpack(content, fillBits: fillBits) : Array(content)
            // An escape must be followed by the extension table's code (3GPP TS 23.038 §6.2.1.1);
            // one at the end escapes nothing, and dropping it would change the text unannounced.
            if strict, septets.last.map({ $0 & 0x7F }) == GSM7.escape {
                throw .malformed(
                    command: command, sequence: sequence, field: field,
                    reason:
                        "ends in the GSM 03.38 escape 0x1B with no character after it; an escape is followed by the extension character it introduces (3GPP TS 23.038 §6.2.1.1)"
                )
            }
            text = GSM7.decode(septets)
        case Self.ia5:
            text = String(decoding: content.map { $0 & 0x7F }, as: UTF8.self)
        case Self.latin1:
            text = String(String.UnicodeScalarView(content.map { Unicode.Scalar($0) }))
        case Self.ucs2:
            let units = stride(from: content.startIndex, to: content.endIndex - 1, by: 2).map {
                UInt16(content[$0]) << 8 | UInt16(content[$0 + 1])
            }
            text = String(decoding: units, as: UTF16.self)
            if strict, let lone = Self.loneSurrogate(in: units) {
                throw .malformed(
                    command: command, sequence: sequence, field: field,
                    reason:
                        "holds a lone UTF-16 surrogate 0x\(String(units[lone], radix: 16)) at character \(lone + 1); UCS-2 text must be whole characters (RFC 2781)"
                )
            }
        default:
            throw .malformed(
                command: command, sequence: sequence, field: "data_coding",
                reason:
                    "0x\(String(message.dataCoding, radix: 16)) is not read here; use 0 (GSM 03.38), 1 (IA5), 3 (Latin-1) or 8 (UCS-2)"
            )
        }
        if strict,
            let control = text.unicodeScalars.enumerated().first(where: {
                $0.element.value < 0x20 && !["\t", "\n", "\r"].contains($0.element)
            })
        {
            throw .malformed(
                command: command, sequence: sequence, field: field,
                reason:
                    "must not contain U+\(Self.hex4(control.element.value)), found at character \(control.offset + 1); text may hold tab, line feed and carriage return but no other control character"
            )
        }
        return (text, part)
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
    static func loneSurrogate(in units: [UInt16]) -> Int? {
        var index = 0
        while index < units.count {
            let unit = units[index]
            if UTF16.isLeadSurrogate(unit) {
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
                return Concatenation(reference: UInt16(bytes[0]), total: bytes[1], sequence: bytes[2])
            }
            if id == 0x08, value.count == 4 {
                let bytes = Array(value)
                return Concatenation(
                    reference: UInt16(bytes[0]) << 8 | UInt16(bytes[1]), total: bytes[2], sequence: bytes[3])
            }
            index += 2 + length
        }
        return nil
    }
}
