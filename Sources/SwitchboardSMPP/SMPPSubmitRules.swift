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
        flags(message) ?? optionalParameters(message) ?? addresses(message) ?? segmentation(message)
    }

    /// Flags whose reserved values would have to be guessed at: `esm_class` message types other
    /// than a default message (SMPP 3.4 §5.2.12: 0x04 is the SMSC's receipt in `deliver_sm`, and
    /// ESME acknowledgements 0x08 and 0x10 answer a message Switchboard never asked to be
    /// acknowledged), and `registered_delivery` with the reserved receipt value 3 or reserved bits
    /// 5–7 set (§5.2.17).
    static func flags(_ message: ShortMessage) -> Refusal? {
        let type = message.esmClass & 0x3C
        guard type == 0 else {
            return Refusal(
                status: .invalidEsmClass,
                reason:
                    "esm_class 0x\(String(message.esmClass, radix: 16)) sets message type 0x\(String(type, radix: 16)) (bits 2-5); a submit_sm is a default message (bits 2-5 zero), receipts and acknowledgements go the other way"
            )
        }
        let registered = message.registeredDelivery
        guard registered & 0x03 != 0x03, registered & 0xE0 == 0 else {
            return Refusal(
                status: .invalidRegisteredDelivery,
                reason:
                    "registered_delivery 0x\(String(registered, radix: 16)) uses a reserved value; ask 0 (no receipt), 1 (final status) or 2 (failure only) in bits 0-1 and leave bits 5-7 zero (SMPP 3.4 §5.2.17)"
            )
        }
        return nil
    }

    /// The `submit_sm` optional parameters whose length SMPP 3.4 §5.3.2 fixes, by tag: a value of
    /// another length cannot be read as the client meant, even where Switchboard does not act on it.
    /// The `sar_*` parameters are checked with the part they number (`segmentation`).
    static let fixedSizes: [UInt16: (name: String, octets: Int)] = [
        0x0204: ("user_message_reference", 2), 0x020A: ("source_port", 2), 0x020B: ("destination_port", 2),
        0x0019: ("payload_type", 1), 0x0201: ("privacy_indicator", 1), 0x0205: ("user_response_code", 1),
        0x020D: ("language_indicator", 1), 0x1204: ("ms_validity", 1), 0x0005: ("dest_addr_subunit", 1),
        0x000D: ("source_addr_subunit", 1), 0x0426: ("more_messages_to_send", 1), 0x1201: ("display_time", 1),
        0x1203: ("sms_signal", 2), 0x0302: ("callback_num_pres_ind", 1), 0x0304: ("number_of_messages", 1),
        0x1380: ("its_reply_type", 1),
        0x1383: ("its_session_info", 2), 0x0501: ("ussd_service_op", 1), 0x0030: ("ms_msg_wait_facilities", 1),
        0x0006: ("dest_network_type", 1), 0x000E: ("source_network_type", 1), 0x0007: ("dest_bearer_type", 1),
        0x000F: ("source_bearer_type", 1), 0x0008: ("dest_telematics_id", 2), 0x0010: ("source_telematics_id", 1),
        0x0017: ("qos_time_to_live", 4), 0x0421: ("set_dpf", 1), 0x130C: ("alert_on_message_delivery", 0),
    ]

    /// Each optional parameter once, with the length SMPP 3.4 §5.3.2 gives it where it fixes one,
    /// and the text in one place: `short_message` or
    /// `message_payload`, not both (SMPP 3.4 §4.4.1: with `message_payload`, sm_length is 0).
    static func optionalParameters(_ message: ShortMessage) -> Refusal? {
        var seen = Set<UInt16>()
        for tlv in message.tlvs where !seen.insert(tlv.tag).inserted {
            return Refusal(
                status: .invalidOptionalParameterStream,
                reason: "optional parameter \(tagName(tlv.tag)) appears more than once; send each at most once")
        }
        for tlv in message.tlvs {
            guard let (name, size) = fixedSizes[tlv.tag], tlv.value.count != size else { continue }
            return Refusal(
                status: .invalidParameterLength,
                reason:
                    "\(name) (0x\(TextCoding.hex4(UInt32(tlv.tag)))) is \(tlv.value.count) octets; it is \(size) (SMPP 3.4 §5.3.2)"
            )
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
        guard destination.ton != SMPPAddress.tonInternational || isNumber(destination.address) else {
            return Refusal(
                status: .invalidDestinationAddress,
                reason:
                    "destination_addr \"\(destination.address)\" with TON 1 (international) is not a number; send its digits with the country code"
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
        guard source.ton != SMPPAddress.tonInternational || isNumber(source.address) else {
            return Refusal(
                status: .invalidSourceAddress,
                reason:
                    "source_addr \"\(source.address)\" with TON 1 (international) is not a number; send a sender id with TON 5 or one of the account's numbers with its country code"
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
        guard message.hasUserDataHeader else { return nil }
        guard let header = userDataHeader(message.content) else {
            // esm_class says a header leads the text, so a length octet past the end is the
            // client's esm_class or header in error (SMPP 3.4 §5.2.12), not a message to store.
            let after = max(message.content.count - 1, 0)
            let said =
                message.content.first.map { "its length octet says \($0) octets and \(after) follow" } ?? "it is empty"
            return Refusal(
                status: .invalidEsmClass,
                reason:
                    "short_message has esm_class 0x40 (a user data header) but \(said); send the header's length first, or clear bit 0x40"
            )
        }
        if let problem = headerProblem(header) {
            return Refusal(status: .invalidEsmClass, reason: "the user data header in short_message \(problem)")
        }
        if let part = TextCoding.concatenation(in: header),
            let problem = partProblem(sequence: UInt32(part.sequence), total: UInt32(part.total))
        {
            return Refusal(
                status: .invalidEsmClass, reason: "the concatenation header in short_message says \(problem)")
        }
        return nil
    }

    /// Whether `address` is digits (after an optional `+`), as an international number is.
    static func isNumber(_ address: String) -> Bool {
        let digits = address.hasPrefix("+") ? address.dropFirst() : address[...]
        return !digits.isEmpty && digits.allSatisfy { ("0"..."9").contains($0) }
    }

    /// Why a user data header's information elements cannot be read (3GPP TS 23.040 §9.2.3.24:
    /// each an identifier, a length and that many octets, within the header; the concatenation
    /// elements 0x00 and 0x08 3 and 4 octets long), or nil.
    static func headerProblem(_ header: [UInt8]) -> String? {
        var index = 0
        var concatenations = 0
        while index < header.count {
            guard index + 1 < header.count else {
                return "ends inside information element 0x\(String(header[index], radix: 16)) (no length octet)"
            }
            let (id, length) = (header[index], Int(header[index + 1]))
            guard index + 2 + length <= header.count else {
                return
                    "information element 0x\(String(id, radix: 16)) says \(length) octets, more than the header holds"
            }
            if id == 0x00, length != 3 {
                return "the 8-bit concatenation element (0x00) is \(length) octets; it is 3 (reference, total, part)"
            }
            if id == 0x08, length != 4 {
                return "the 16-bit concatenation element (0x08) is \(length) octets; it is 4 (reference, total, part)"
            }
            if id == 0x00 || id == 0x08 {
                concatenations += 1
                if concatenations > 1 {
                    return "holds two concatenation elements; a part has one (0x00 or 0x08)"
                }
            }
            if let unkept = Self.unkeptElements[id] {
                return
                    "holds \(unkept), which Switchboard cannot keep: it sends the text alone, so the message would arrive changed; \(Self.unkeptFix[id] ?? "send it without that element")"
            }
            index += 2 + length
        }
        return nil
    }

    /// Information elements whose meaning the text alone cannot carry (3GPP TS 23.040 §9.2.3.24):
    /// dropped, they would change the message, so a header holding one is refused. Other elements
    /// (EMS formatting, for one) are left out and the text is sent as it reads.
    static let unkeptElements: [UInt8: String] = [
        0x04: "application port addressing (element 0x04, §9.2.3.24.3)",
        0x05: "application port addressing (element 0x05, §9.2.3.24.4)",
        0x24: "a national language single shift table (element 0x24, §9.2.3.24.15)",
        0x25: "a national language locking shift table (element 0x25, §9.2.3.24.16)",
    ]
    static let unkeptFix: [UInt8: String] = [
        0x24: "send the text as UCS-2 (data_coding 8) instead",
        0x25: "send the text as UCS-2 (data_coding 8) instead",
        0x04: "messages to an application port are not sent here",
        0x05: "messages to an application port are not sent here",
    ]

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
        // A header length of 0 is an empty header (no information element), not a range to slice.
        return Array(content.dropFirst().prefix(Int(length)))
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
