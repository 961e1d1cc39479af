/// Reading received text: a `submit_sm` or `deliver_sm`'s user data, its text, and the text of a
/// long message from its parts.
extension TextCoding {
    /// The user data of a received `submit_sm` or `deliver_sm` before it is read as text. The parts
    /// of a long message are joined as user data, not as text, because a sender may split a
    /// character between two parts: a UTF-16 surrogate pair in UCS-2, or a GSM 03.38 escape and the
    /// extension character it introduces (3GPP TS 23.038 §6.2.1.1).
    public struct UserData: Sendable, Equatable {
        /// data_coding as received (SMPP 3.4 §5.2.19): 0, 1, 3 or 8, the codings read here.
        public var dataCoding: UInt8
        /// For data_coding 0 the septets, one an octet (unpacked when the text came packed); for
        /// the others the octets as sent. Never the user data header.
        public var units: [UInt8]
        /// Where the text was, to name a fault: `short_message` or `message_payload`.
        public var field: String

        public init(dataCoding: UInt8, units: [UInt8], field: String = "short_message") {
            self.dataCoding = dataCoding
            self.units = units
            self.field = field
        }
    }

    /// The text of a received `submit_sm` or `deliver_sm` that is a message of its own and, for one
    /// part of a longer message, which (from a concatenation user data header or the `sar_*` TLVs).
    /// A part's text is only its own: join parts with `text(ofParts:command:sequence:strict:)`.
    /// - Parameter strict: as for `text(of:command:sequence:strict:within:)`.
    /// - Throws: `SMPPError.malformed`, as `userData` and `text(of:)` do.
    public func decode(
        _ message: ShortMessage, command: CommandID, sequence: UInt32, strict: Bool = false
    ) throws(SMPPError) -> (
        text: String, part: Concatenation?
    ) {
        let (data, part) = try userData(message, command: command, sequence: sequence, strict: strict)
        return (try text(of: data, command: command, sequence: sequence, strict: strict, within: part), part)
    }

    /// The user data of a received `submit_sm` or `deliver_sm` and, for one part of a longer
    /// message, which (from a concatenation user data header, 3GPP TS 23.040 §9.2.3.24.1, or the
    /// `sar_*` TLVs, SMPP 3.4 §5.3.2.22–24).
    /// - Parameter strict: refuse octets that cannot be text as sent: above 0x7F in GSM 03.38
    ///   unpacked or IA5 text, and an odd octet count in UCS-2.
    /// - Throws: `SMPPError.malformed` for a user data header longer than the message, a
    ///   data_coding this codec does not read (anything but 0, 1, 3 and 8), or, when `strict`,
    ///   octets that cannot be text as sent; the reason names the octet.
    public func userData(
        _ message: ShortMessage, command: CommandID, sequence: UInt32, strict: Bool = false
    ) throws(SMPPError) -> (data: UserData, part: Concatenation?) {
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
                sequence: UInt8(truncatingIfNeeded: sequenceNumber), isWide: true)
        }
        switch message.dataCoding {
        case Self.defaultAlphabet, Self.ia5, Self.latin1, Self.ucs2: break
        default:
            throw .malformed(
                command: command, sequence: sequence, field: "data_coding",
                reason:
                    "0x\(String(message.dataCoding, radix: 16)) is not read here; use 0 (GSM 03.38), 1 (IA5), 3 (Latin-1) or 8 (UCS-2)"
            )
        }
        if strict, let reason = Self.unreadable(content, dataCoding: message.dataCoding, packed: packing == .packed) {
            throw .malformed(command: command, sequence: sequence, field: field, reason: reason)
        }
        let units =
            message.dataCoding == Self.defaultAlphabet && packing == .packed
            ? GSM7.unpack(content, fillBits: fillBits) : Array(content)
        return (UserData(dataCoding: message.dataCoding, units: units, field: field), part)
    }

    /// The text of `data`.
    /// - Parameters:
    ///   - strict: refuse text that cannot be read as sent instead of repairing it (what a server
    ///     does with a customer's `submit_sm`, whose client can correct and resend it): a GSM 03.38
    ///     escape with no character after it, a lone UTF-16 surrogate (RFC 2781), and NUL or another
    ///     C0 control other than tab, line feed and carriage return (the rule `POST /v1/messages`
    ///     applies to a body). Not strict: such text is read as well as it can be (a carrier's
    ///     `deliver_sm` is not refused over it).
    ///   - part: where `data` sits when it is one part of a longer message. A part other than the
    ///     last may end inside a character (a lead surrogate, an escape) and one other than the
    ///     first may start inside one (a trail surrogate): the joined text decides.
    /// - Throws: `SMPPError.malformed` naming the character and where it is, or a data_coding
    ///   this codec does not read.
    public func text(
        of data: UserData, command: CommandID, sequence: UInt32, strict: Bool = false, within part: Concatenation? = nil
    ) throws(SMPPError) -> String {
        let isPart = part.map { $0.total > 1 } ?? false
        let endsInside = isPart && part.map { $0.sequence < $0.total } ?? false
        let opensInside = isPart && part.map { $0.sequence > 1 } ?? false
        let field = data.field
        let text: String
        switch data.dataCoding {
        case Self.defaultAlphabet:
            // An escape must be followed by the extension table's code (3GPP TS 23.038 §6.2.1.1);
            // one at the end escapes nothing, and dropping it would change the text unannounced.
            if strict, !endsInside, data.units.last.map({ $0 & 0x7F }) == GSM7.escape {
                throw .malformed(
                    command: command, sequence: sequence, field: field,
                    reason:
                        "ends in the GSM 03.38 escape 0x1B with no character after it; an escape is followed by the extension character it introduces (3GPP TS 23.038 §6.2.1.1)"
                )
            }
            text = GSM7.decode(data.units)
        case Self.ia5:
            text = String(decoding: data.units.map { $0 & 0x7F }, as: UTF8.self)
        case Self.latin1:
            text = String(String.UnicodeScalarView(data.units.map { Unicode.Scalar($0) }))
        case Self.ucs2:
            let octets = data.units
            let units = stride(from: 0, to: octets.count - 1, by: 2).map {
                UInt16(octets[$0]) << 8 | UInt16(octets[$0 + 1])
            }
            text = String(decoding: units, as: UTF16.self)
            if strict, let lone = Self.loneSurrogate(in: units, leadAtEnd: endsInside, trailAtStart: opensInside) {
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
                    "0x\(String(data.dataCoding, radix: 16)) is not read here; use 0 (GSM 03.38), 1 (IA5), 3 (Latin-1) or 8 (UCS-2)"
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
        return text
    }

    /// The text of a long message from its parts' user data, in order. Parts of one data_coding
    /// are joined before they are read, so a character split between two parts is read whole;
    /// where the coding changes (or a UCS-2 part has an odd octet count, which only a lenient read
    /// lets through) the text so far is read on its own.
    /// - Parameters:
    ///   - command, sequence: the PDU that completed the message, named in a fault.
    ///   - strict: as for `text(of:command:sequence:strict:within:)`, applied to the joined text.
    /// - Throws: `SMPPError.malformed` naming the character and where it is in the message.
    public func text(
        ofParts parts: [UserData], command: CommandID, sequence: UInt32, strict: Bool = false
    ) throws(SMPPError) -> String {
        var runs: [UserData] = []
        for part in parts {
            if let last = runs.last, last.dataCoding == part.dataCoding,
                !(last.dataCoding == Self.ucs2 && last.units.count % 2 != 0)
            {
                runs[runs.count - 1].units += part.units
            } else {
                runs.append(UserData(dataCoding: part.dataCoding, units: part.units))
            }
        }
        var text = ""
        for run in runs { text += try self.text(of: run, command: command, sequence: sequence, strict: strict) }
        return text
    }
}
