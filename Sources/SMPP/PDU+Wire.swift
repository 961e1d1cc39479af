extension PDU {
    /// The length of the header (SMPP 3.4 §3.2): command_length, command_id, command_status,
    /// sequence_number, 4 octets each.
    public static let headerLength = 16

    /// The PDU's octets, its `command_length` included.
    public func encoded() -> [UInt8] {
        var out = WireWriter()
        out.u32(0)
        out.u32(commandID.rawValue)
        out.u32(status.rawValue)
        out.u32(sequence)
        switch body {
        case .bind(let bind):
            out.cString(bind.systemID)
            out.cString(bind.password)
            out.cString(bind.systemType)
            out.u8(bind.interfaceVersion)
            out.address(bind.addressRange)
        case .bindResponse(let systemID, let tlvs):
            out.cString(systemID)
            out.tlvs(tlvs)
        case .submitSm(let message), .deliverSm(let message):
            out.cString(message.serviceType)
            out.address(message.source)
            out.address(message.destination)
            out.u8(message.esmClass)
            out.u8(message.protocolID)
            out.u8(message.priority)
            out.cString(message.scheduleDeliveryTime)
            out.cString(message.validityPeriod)
            out.u8(message.registeredDelivery)
            out.u8(message.replaceIfPresent)
            out.u8(message.dataCoding)
            out.u8(message.defaultMessageID)
            let short = message.shortMessage.prefix(254)
            out.u8(UInt8(short.count))
            out.bytes.append(contentsOf: short)
            out.tlvs(message.tlvs)
        case .messageResponse(let messageID):
            out.cString(messageID)
        case .querySm(let messageID, let source):
            out.cString(messageID)
            out.address(source)
        case .querySmResponse(let result):
            out.cString(result.messageID)
            out.cString(result.finalDate)
            out.u8(result.messageState)
            out.u8(result.errorCode)
        case .empty, .unsupported:
            break
        }
        let length = UInt32(out.bytes.count)
        out.bytes[0] = UInt8(length >> 24)
        out.bytes[1] = UInt8((length >> 16) & 0xFF)
        out.bytes[2] = UInt8((length >> 8) & 0xFF)
        out.bytes[3] = UInt8(length & 0xFF)
        return out.bytes
    }

    /// Reads one PDU from `frame`, which holds exactly `command_length` octets.
    /// - Throws: `SMPPError.malformed` naming the field that does not parse.
    public static func read(frame: ArraySlice<UInt8>) throws(SMPPError) -> PDU {
        guard frame.count >= headerLength else { throw .invalidCommandLength(UInt32(frame.count), limit: headerLength) }
        func word(_ offset: Int) -> UInt32 {
            let start = frame.startIndex + offset
            return frame[start...start + 3].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let id = word(4)
        let status = word(8)
        let sequence = word(12)
        let command = CommandID(rawValue: id)
        var reader = BodyReader(buffer: frame.dropFirst(headerLength), command: command, sequence: sequence)
        let body: PDUBody
        switch command {
        case .bindTransmitter, .bindReceiver, .bindTransceiver:
            body = .bind(
                BindRequest(
                    systemID: try reader.cString("system_id", max: 16),
                    password: try reader.cString("password", max: 9),
                    systemType: try reader.cString("system_type", max: 13),
                    interfaceVersion: try reader.byte("interface_version"),
                    addressRange: try reader.address("address_range", max: 41)))
        case .bindTransmitterResp, .bindReceiverResp, .bindTransceiverResp:
            // A failed bind's response may have no body (SMPP 3.4 §4.1.2).
            let systemID = reader.isAtEnd ? "" : try reader.cString("system_id", max: 16)
            body = .bindResponse(systemID: systemID, tlvs: try reader.tlvs())
        case .submitSm, .deliverSm:
            var message = ShortMessage()
            message.serviceType = try reader.cString("service_type", max: 6)
            message.source = try reader.address("source_addr", max: 21)
            message.destination = try reader.address("destination_addr", max: 21)
            message.esmClass = try reader.byte("esm_class")
            message.protocolID = try reader.byte("protocol_id")
            message.priority = try reader.byte("priority_flag")
            message.scheduleDeliveryTime = try reader.cString("schedule_delivery_time", max: 17)
            message.validityPeriod = try reader.cString("validity_period", max: 17)
            message.registeredDelivery = try reader.byte("registered_delivery")
            message.replaceIfPresent = try reader.byte("replace_if_present_flag")
            message.dataCoding = try reader.byte("data_coding")
            message.defaultMessageID = try reader.byte("sm_default_msg_id")
            let length = try reader.byte("sm_length")
            message.shortMessage = try reader.bytes("short_message", count: Int(length))
            message.tlvs = try reader.tlvs()
            body = command == .submitSm ? .submitSm(message) : .deliverSm(message)
        case .submitSmResp, .deliverSmResp:
            // An error response carries no body (SMPP 3.4 §4.4.2). Optional parameters after
            // message_id (SMPP 5.0 §4.2.5 gives these responses additional_status_info_text,
            // delivery_failure_reason, network_error_code) are read and set aside: a peer of a
            // later version is understood, not refused.
            let messageID = reader.isAtEnd ? "" : try reader.cString("message_id", max: 65)
            _ = try reader.tlvs()
            body = .messageResponse(messageID: messageID)
        case .querySm:
            body = .querySm(
                messageID: try reader.cString("message_id", max: 65), source: try reader.address("source_addr", max: 21)
            )
        case .querySmResp:
            // An error response carries no body (SMPP 3.4 §4.8.2).
            if reader.isAtEnd {
                body = .querySmResponse(QueryResult(messageID: "", finalDate: "", messageState: 0, errorCode: 0))
            } else {
                body = .querySmResponse(
                    QueryResult(
                        messageID: try reader.cString("message_id", max: 65),
                        finalDate: try reader.cString("final_date", max: 17),
                        messageState: try reader.byte("message_state"), errorCode: try reader.byte("error_code")))
            }
        case .enquireLink, .enquireLinkResp, .unbind, .unbindResp, .genericNack:
            body = .empty
        default:
            body = .unsupported
        }
        if case .unsupported = body {
        } else if !reader.isAtEnd, command != .genericNack {
            throw .malformed(
                command: command, sequence: sequence, field: "command_length",
                reason: "counts \(reader.buffer.count) octets after the last field; set it to the PDU's length")
        }
        return PDU(command, status: CommandStatus(status), sequence: sequence, body: body)
    }
}

/// Reads a body's fields, naming the field at fault in every error.
private struct BodyReader {
    var buffer: ArraySlice<UInt8>
    let command: CommandID
    let sequence: UInt32

    var isAtEnd: Bool { buffer.isEmpty }

    func fail(_ field: String, _ reason: String) -> SMPPError {
        .malformed(command: command, sequence: sequence, field: field, reason: reason)
    }

    mutating func byte(_ field: String) throws(SMPPError) -> UInt8 {
        guard let value = buffer.popFirst() else { throw fail(field, "is missing (the PDU ends early)") }
        return value
    }

    /// A C-Octet String of at most `max` octets with its NUL (SMPP 3.4 §3.1). SMPP's strings are
    /// ASCII; each octet is read as the Latin-1 character of its value, so any octets read back
    /// as they came.
    mutating func cString(_ field: String, max: Int) throws(SMPPError) -> String {
        guard let end = buffer.prefix(max).firstIndex(of: 0) else {
            if buffer.count < max { throw fail(field, "has no terminating NUL before the PDU ends") }
            throw fail(field, "is longer than \(max - 1) octets (SMPP 3.4 allows \(max) with its NUL)")
        }
        let text = String(String.UnicodeScalarView(buffer[..<end].map { Unicode.Scalar($0) }))
        buffer = buffer[(end + 1)...]
        return text
    }

    mutating func address(_ field: String, max: Int) throws(SMPPError) -> SMPPAddress {
        let ton = try byte(field + "_ton")
        let npi = try byte(field + "_npi")
        return SMPPAddress(ton: ton, npi: npi, address: try cString(field, max: max))
    }

    mutating func bytes(_ field: String, count: Int) throws(SMPPError) -> [UInt8] {
        guard buffer.count >= count else {
            throw fail(field, "is shorter than its length field says (\(count) octets)")
        }
        defer { buffer = buffer.dropFirst(count) }
        return Array(buffer.prefix(count))
    }

    mutating func u16() -> UInt16? {
        guard buffer.count >= 2 else { return nil }
        defer { buffer = buffer.dropFirst(2) }
        return UInt16(buffer[buffer.startIndex]) << 8 | UInt16(buffer[buffer.startIndex + 1])
    }

    mutating func tlvs() throws(SMPPError) -> [TLV] {
        var tlvs: [TLV] = []
        while !isAtEnd {
            guard let tag = u16(), let length = u16() else {
                throw fail("optional parameters", "end inside a tag or length (SMPP 3.4 §3.2.4)")
            }
            guard buffer.count >= Int(length) else {
                throw fail(
                    "optional parameter 0x\(String(tag, radix: 16))",
                    "says \(length) octets but the PDU ends after \(buffer.count)")
            }
            tlvs.append(TLV(tag: tag, value: Array(buffer.prefix(Int(length)))))
            buffer = buffer.dropFirst(Int(length))
        }
        return tlvs
    }
}

/// Writes a PDU's fields, big-endian (SMPP 3.4 §3.1).
private struct WireWriter {
    var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(64)
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func u32(_ value: UInt32) {
        for shift in [24, 16, 8, 0] as [UInt32] { bytes.append(UInt8((value >> shift) & 0xFF)) }
    }

    /// Each character as the octet of its Latin-1 value (`?` beyond), then the NUL.
    mutating func cString(_ string: String) {
        for scalar in string.unicodeScalars where scalar.value != 0 {
            bytes.append(scalar.value <= 0xFF ? UInt8(scalar.value) : UInt8(ascii: "?"))
        }
        bytes.append(0)
    }

    mutating func address(_ address: SMPPAddress) {
        u8(address.ton)
        u8(address.npi)
        cString(address.address)
    }

    mutating func tlvs(_ tlvs: [TLV]) {
        for tlv in tlvs {
            let value = tlv.value.prefix(Int(UInt16.max))
            u16(tlv.tag)
            u16(UInt16(value.count))
            bytes.append(contentsOf: value)
        }
    }
}
