import SMPP

/// What a customer's `submit_sm` must hold beyond parsing, checked before anything is stored: an
/// answer that names the field and the fix, where reading on would guess (which text to send, which
/// number is meant, which message a part belongs to).
enum SMPPSubmitRules {
    /// A refusal: the `command_status` for `submit_sm_resp` and the reason for the log.
    struct Refusal: Error, Equatable, CustomStringConvertible {
        let status: CommandStatus
        let reason: String
        var description: String { "\(status.name): \(reason)" }
    }

    /// NPI values SMPP 3.4 §5.2.6 defines (unknown, ISDN E.163/E.164, data X.121, telex F.69,
    /// land mobile E.212, national, private, ERMES, Internet IP, WAP client id).
    static let definedNPIs: Set<UInt8> = [0, 1, 3, 4, 6, 8, 9, 10, 14, 18]

    /// The first rule `message` breaks, or nil.
    static func check(_ message: ShortMessage) -> Refusal? {
        optionalParameters(message) ?? addresses(message) ?? segmentation(message)
    }

    /// Each optional parameter once, and the text in one place: `short_message` or
    /// `message_payload`, not both (SMPP 3.4 §4.4.1: with `message_payload`, sm_length is 0).
    static func optionalParameters(_ message: ShortMessage) -> Refusal? {
        var seen = Set<UInt16>()
        for tlv in message.tlvs where !seen.insert(tlv.tag).inserted {
            return Refusal(
                status: .invalidOptionalParameterStream,
                reason: "optional parameter \(tagName(tlv.tag)) appears more than once; send each at most once")
        }
        if message.tlvs[tag: TLV.messagePayload] != nil, !message.shortMessage.isEmpty {
            return Refusal(
                status: .invalidMessageLength,
                reason:
                    "short_message (\(message.shortMessage.count) octets) and message_payload both hold text; with message_payload set sm_length to 0 (SMPP 3.4 §4.4.1)"
            )
        }
        return nil
    }

    /// Numbers Switchboard can route: a destination in international form (TON 1, or 0 with the
    /// country code) in E.164 (NPI 1, or 0), and a sender that is an international number or an
    /// alphanumeric sender id (TON 5). A national or abbreviated number (TON 2, 3, 4, 6) needs a
    /// country or network to be read, which an account does not have (SMPP 3.4 §5.2.5, §5.2.6).
    static func addresses(_ message: ShortMessage) -> Refusal? {
        let destination = message.destination
        guard destination.ton <= 1 else {
            return Refusal(
                status: .invalidDestinationTON,
                reason:
                    "destination_addr_ton \(destination.ton) (\(tonName(destination.ton))) cannot be routed; send the number in international form with TON 1"
            )
        }
        guard destination.npi <= 1 else {
            return Refusal(
                status: .invalidDestinationNPI,
                reason:
                    "destination_addr_npi \(destination.npi) is not E.164; send NPI 1 (ISDN, E.164) or 0 with an international number"
            )
        }
        let source = message.source
        guard [SMPPAddress.tonUnknown, SMPPAddress.tonInternational, SMPPAddress.tonAlphanumeric].contains(source.ton)
        else {
            return Refusal(
                status: .invalidSourceTON,
                reason:
                    "source_addr_ton \(source.ton) (\(tonName(source.ton))) is not offered; send one of the account's numbers in international form (TON 1) or its sender id (TON 5)"
            )
        }
        guard definedNPIs.contains(source.npi) else {
            return Refusal(
                status: .invalidSourceNPI,
                reason: "source_addr_npi \(source.npi) is not an SMPP 3.4 numbering plan; send 1 (E.164) or 0")
        }
        return nil
    }

    /// A part of a longer message says which, consistently: the `sar_*` TLVs all three with their
    /// sizes (SMPP 3.4 §5.3.2.22–24), and in the header or the TLVs a part number from 1 to a total
    /// of at least 1 (3GPP TS 23.040 §9.2.3.24.1).
    static func segmentation(_ message: ShortMessage) -> Refusal? {
        let sar: [(UInt16, Int)] = [
            (TLV.sarMessageReference, 2), (TLV.sarTotalSegments, 1), (TLV.sarSegmentSequence, 1),
        ]
        let present = sar.filter { message.tlvs[tag: $0.0] != nil }
        if !present.isEmpty {
            if present.count < sar.count {
                let missing = sar.filter { message.tlvs[tag: $0.0] == nil }.map { tagName($0.0) }
                return Refusal(
                    status: .missingOptionalParameter,
                    reason: "a part sent with sar_* TLVs needs all three; \(missing.joined(separator: ", ")) missing")
            }
            for (tag, size) in sar where message.tlvs[tag: tag]?.value.count != size {
                return Refusal(
                    status: .invalidParameterLength,
                    reason: "\(tagName(tag)) is \(message.tlvs[tag: tag]?.value.count ?? 0) octets; it is \(size)")
            }
            let total = message.tlvs[tag: TLV.sarTotalSegments]?.integer ?? 0
            let sequence = message.tlvs[tag: TLV.sarSegmentSequence]?.integer ?? 0
            if let problem = partProblem(sequence: sequence, total: total) {
                return Refusal(status: .invalidOptionalParameterValue, reason: "sar_segment_seqnum/total: \(problem)")
            }
        }
        if message.hasUserDataHeader, let header = userDataHeader(message.content),
            let part = TextCoding.concatenation(in: header),
            let problem = partProblem(sequence: UInt32(part.sequence), total: UInt32(part.total))
        {
            return Refusal(
                status: .invalidEsmClass, reason: "the concatenation header in short_message says \(problem)")
        }
        return nil
    }

    /// Why a part number and total do not hold together, or nil.
    static func partProblem(sequence: UInt32, total: UInt32) -> String? {
        if total == 0 { return "a total of 0 parts; a message has at least 1" }
        if sequence == 0 || sequence > total {
            return "part \(sequence) of \(total); parts are numbered from 1 to the total"
        }
        return nil
    }

    /// The information elements of the user data header at the start of `content`, when whole.
    static func userDataHeader(_ content: [UInt8]) -> [UInt8]? {
        guard let length = content.first, content.count > Int(length) else { return nil }
        return Array(content[1...Int(length)])
    }

    static func tagName(_ tag: UInt16) -> String {
        switch tag {
        case TLV.messagePayload: "message_payload (0x0424)"
        case TLV.sarMessageReference: "sar_msg_ref_num (0x020C)"
        case TLV.sarTotalSegments: "sar_total_segments (0x020E)"
        case TLV.sarSegmentSequence: "sar_segment_seqnum (0x020F)"
        default: "0x" + TextCoding.hex4(UInt32(tag))
        }
    }

    /// SMPP 3.4 §5.2.5's names of TON values.
    static func tonName(_ ton: UInt8) -> String {
        switch ton {
        case 0: "unknown"
        case 1: "international"
        case 2: "national"
        case 3: "network specific"
        case 4: "subscriber number"
        case 5: "alphanumeric"
        case 6: "abbreviated"
        default: "not an SMPP 3.4 TON"
        }
    }
}
