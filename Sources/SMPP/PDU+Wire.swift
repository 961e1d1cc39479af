import NIOCore

extension PDU {
    /// The length of the header (SMPP 3.4 §3.2): command_length, command_id, command_status,
    /// sequence_number, 4 octets each.
    public static let headerLength = 16

    /// Writes the PDU, its `command_length` included, to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(commandID.rawValue)
        buffer.writeInteger(status.rawValue)
        buffer.writeInteger(sequence)
        switch body {
        case .bind(let bind):
            buffer.writeCString(bind.systemID)
            buffer.writeCString(bind.password)
            buffer.writeCString(bind.systemType)
            buffer.writeInteger(bind.interfaceVersion)
            buffer.writeAddress(bind.addressRange)
        case .bindResponse(let systemID, let tlvs):
            buffer.writeCString(systemID)
            buffer.writeTLVs(tlvs)
        case .submitSm(let message), .deliverSm(let message):
            buffer.writeCString(message.serviceType)
            buffer.writeAddress(message.source)
            buffer.writeAddress(message.destination)
            buffer.writeInteger(message.esmClass)
            buffer.writeInteger(message.protocolID)
            buffer.writeInteger(message.priority)
            buffer.writeCString(message.scheduleDeliveryTime)
            buffer.writeCString(message.validityPeriod)
            buffer.writeInteger(message.registeredDelivery)
            buffer.writeInteger(message.replaceIfPresent)
            buffer.writeInteger(message.dataCoding)
            buffer.writeInteger(message.defaultMessageID)
            buffer.writeInteger(UInt8(clamping: message.shortMessage.count))
            buffer.writeBytes(message.shortMessage.prefix(255))
            buffer.writeTLVs(message.tlvs)
        case .messageResponse(let messageID):
            buffer.writeCString(messageID)
        case .empty, .unsupported:
            break
        }
        buffer.setInteger(UInt32(buffer.writerIndex - start), at: start)
    }

    /// Reads one PDU from `frame`, which holds exactly `command_length` octets.
    /// - Throws: `SMPPError.malformed` naming the field that does not parse.
    public static func read(frame: inout ByteBuffer) throws(SMPPError) -> PDU {
        guard let _ = frame.readInteger(as: UInt32.self), let id = frame.readInteger(as: UInt32.self),
            let status = frame.readInteger(as: UInt32.self), let sequence = frame.readInteger(as: UInt32.self)
        else { throw .invalidCommandLength(UInt32(frame.readableBytes), limit: headerLength) }
        let command = CommandID(rawValue: id)
        var reader = BodyReader(buffer: frame, command: command, sequence: sequence)
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
            // An error response carries no body (SMPP 3.4 §4.4.2).
            let messageID = reader.isAtEnd ? "" : try reader.cString("message_id", max: 65)
            body = .messageResponse(messageID: messageID)
        case .enquireLink, .enquireLinkResp, .unbind, .unbindResp, .genericNack:
            body = .empty
        default:
            body = .unsupported
        }
        if case .unsupported = body {
        } else if !reader.isAtEnd, command != .genericNack {
            throw .malformed(
                command: command, sequence: sequence, field: "command_length",
                reason: "counts \(reader.buffer.readableBytes) octets after the last field; set it to the PDU's length")
        }
        return PDU(command, status: CommandStatus(status), sequence: sequence, body: body)
    }
}

/// Reads a body's fields, naming the field at fault in every error.
private struct BodyReader {
    var buffer: ByteBuffer
    let command: CommandID
    let sequence: UInt32

    var isAtEnd: Bool { buffer.readableBytes == 0 }

    func fail(_ field: String, _ reason: String) -> SMPPError {
        .malformed(command: command, sequence: sequence, field: field, reason: reason)
    }

    mutating func byte(_ field: String) throws(SMPPError) -> UInt8 {
        guard let value = buffer.readInteger(as: UInt8.self) else {
            throw fail(field, "is missing (the PDU ends early)")
        }
        return value
    }

    /// A C-Octet String of at most `max` octets with its NUL (SMPP 3.4 §3.1).
    mutating func cString(_ field: String, max: Int) throws(SMPPError) -> String {
        let view = buffer.readableBytesView
        guard let end = view.prefix(max).firstIndex(of: 0) else {
            if view.count < max {
                throw fail(field, "has no terminating NUL before the PDU ends")
            }
            throw fail(field, "is longer than \(max - 1) octets (SMPP 3.4 allows \(max) with its NUL)")
        }
        let length = end - view.startIndex
        let bytes = buffer.readBytes(length: length) ?? []
        buffer.moveReaderIndex(forwardBy: 1)
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func address(_ field: String, max: Int) throws(SMPPError) -> SMPPAddress {
        let ton = try byte(field + "_ton")
        let npi = try byte(field + "_npi")
        return SMPPAddress(ton: ton, npi: npi, address: try cString(field, max: max))
    }

    mutating func bytes(_ field: String, count: Int) throws(SMPPError) -> [UInt8] {
        guard let bytes = buffer.readBytes(length: count) else {
            throw fail(field, "is shorter than its length field says (\(count) octets)")
        }
        return bytes
    }

    mutating func tlvs() throws(SMPPError) -> [TLV] {
        var tlvs: [TLV] = []
        while !isAtEnd {
            guard let tag = buffer.readInteger(as: UInt16.self), let length = buffer.readInteger(as: UInt16.self) else {
                throw fail("optional parameters", "end inside a tag or length (SMPP 3.4 §3.2.4)")
            }
            guard let value = buffer.readBytes(length: Int(length)) else {
                throw fail(
                    "optional parameter 0x\(String(tag, radix: 16))",
                    "says \(length) octets but the PDU ends after \(buffer.readableBytes)")
            }
            tlvs.append(TLV(tag: tag, value: value))
        }
        return tlvs
    }
}

extension ByteBuffer {
    fileprivate mutating func writeCString(_ string: String) {
        writeString(string)
        writeInteger(UInt8(0))
    }

    fileprivate mutating func writeAddress(_ address: SMPPAddress) {
        writeInteger(address.ton)
        writeInteger(address.npi)
        writeCString(address.address)
    }

    fileprivate mutating func writeTLVs(_ tlvs: [TLV]) {
        for tlv in tlvs {
            writeInteger(tlv.tag)
            writeInteger(UInt16(clamping: tlv.value.count))
            writeBytes(tlv.value.prefix(Int(UInt16.max)))
        }
    }
}
