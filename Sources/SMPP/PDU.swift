/// A type-of-number / numbering-plan pair and an address (SMPP 3.4 §5.2.5, §5.2.6).
public struct SMPPAddress: Sendable, Equatable {
    public var ton: UInt8
    public var npi: UInt8
    public var address: String

    public init(ton: UInt8 = 0, npi: UInt8 = 0, address: String = "") {
        self.ton = ton
        self.npi = npi
        self.address = address
    }

    /// TON values (SMPP 3.4 §5.2.5).
    public static let tonUnknown: UInt8 = 0
    public static let tonInternational: UInt8 = 1
    public static let tonNational: UInt8 = 2
    public static let tonAlphanumeric: UInt8 = 5
    /// NPI values (SMPP 3.4 §5.2.6).
    public static let npiUnknown: UInt8 = 0
    public static let npiISDN: UInt8 = 1
}

/// The body of a `bind_transmitter`, `bind_receiver` or `bind_transceiver` (SMPP 3.4 §4.1).
public struct BindRequest: Sendable, Equatable {
    /// At most 15 characters.
    public var systemID: String
    /// At most 8 characters.
    public var password: String
    /// At most 12 characters.
    public var systemType: String
    /// 0x34 for SMPP 3.4.
    public var interfaceVersion: UInt8
    public var addressRange: SMPPAddress

    public init(
        systemID: String, password: String, systemType: String = "", interfaceVersion: UInt8 = 0x34,
        addressRange: SMPPAddress = SMPPAddress()
    ) {
        self.systemID = systemID
        self.password = password
        self.systemType = systemType
        self.interfaceVersion = interfaceVersion
        self.addressRange = addressRange
    }
}

/// The body shared by `submit_sm` and `deliver_sm` (SMPP 3.4 §4.4.1, §4.6.1).
public struct ShortMessage: Sendable, Equatable {
    public var serviceType: String = ""
    public var source = SMPPAddress()
    public var destination = SMPPAddress()
    /// Bit 6 (0x40): the message starts with a user data header; bits 2–5 (0x3C) of a
    /// `deliver_sm`: a delivery receipt (0x04) or another kind of report (SMPP 3.4 §5.2.12).
    public var esmClass: UInt8 = 0
    public var protocolID: UInt8 = 0
    public var priority: UInt8 = 0
    public var scheduleDeliveryTime: String = ""
    public var validityPeriod: String = ""
    /// Bits 0–1: no receipt (0), a receipt on success or failure (1), on failure only (2)
    /// (SMPP 3.4 §5.2.17).
    public var registeredDelivery: UInt8 = 0
    public var replaceIfPresent: UInt8 = 0
    /// 0 the SMSC default alphabet (GSM 03.38 here), 1 IA5/ASCII, 3 Latin-1, 8 UCS-2 (SMPP 3.4 §5.2.19).
    public var dataCoding: UInt8 = 0
    public var defaultMessageID: UInt8 = 0
    /// At most 254 octets; longer content travels in `message_payload`.
    public var shortMessage: [UInt8] = []
    public var tlvs: [TLV] = []

    public init() {}

    /// Whether `short_message` starts with a user data header (UDHI, esm_class bit 6).
    public var hasUserDataHeader: Bool { esmClass & 0x40 != 0 }

    /// Whether this `deliver_sm` is a delivery receipt (esm_class bits 2–5 = 0001, SMPP 3.4 §5.2.12).
    public var isDeliveryReceipt: Bool { esmClass & 0x3C == 0x04 }

    /// The content: `message_payload` when present (SMPP 3.4 §5.3.2.32), else `short_message`.
    public var content: [UInt8] { tlvs[tag: TLV.messagePayload]?.value ?? shortMessage }
}

/// A message's state as `query_sm_resp` reports it (SMPP 3.4 §4.8.2).
public struct QueryResult: Sendable, Equatable {
    public var messageID: String
    /// When the message reached its final state, as an SMPP 3.4 absolute time (§7.1.1,
    /// `YYMMDDhhmmss000+`, 16 characters); empty while it is not final.
    public var finalDate: String
    /// `message_state` (SMPP 3.4 §5.2.28): 1 ENROUTE, 2 DELIVERED, 5 UNDELIVERABLE, 8 REJECTED…
    public var messageState: UInt8
    /// The network's error code for a failed message, 0 otherwise.
    public var errorCode: UInt8

    public init(messageID: String, finalDate: String, messageState: UInt8, errorCode: UInt8) {
        self.messageID = messageID
        self.finalDate = finalDate
        self.messageState = messageState
        self.errorCode = errorCode
    }
}

/// What a PDU carries after its header.
public enum PDUBody: Sendable, Equatable {
    case bind(BindRequest)
    case bindResponse(systemID: String, tlvs: [TLV])
    case submitSm(ShortMessage)
    case deliverSm(ShortMessage)
    /// `submit_sm_resp` and `deliver_sm_resp` (the latter's id is empty).
    case messageResponse(messageID: String)
    /// `query_sm` (SMPP 3.4 §4.8.1): the id the SMSC gave the message, and the address it was
    /// sent from (empty when not known).
    case querySm(messageID: String, source: SMPPAddress)
    /// `query_sm_resp` (SMPP 3.4 §4.8.2).
    case querySmResponse(QueryResult)
    /// `enquire_link`, `unbind`, their responses and `generic_nack`.
    case empty
    /// A command this codec does not implement; answered `generic_nack` with `ESME_RINVCMDID`.
    case unsupported
}

/// One SMPP PDU: the 16-octet header (SMPP 3.4 §3.2) and its body.
public struct PDU: Sendable, Equatable {
    public var commandID: CommandID
    public var status: CommandStatus
    public var sequence: UInt32
    public var body: PDUBody

    public init(_ commandID: CommandID, status: CommandStatus = .ok, sequence: UInt32, body: PDUBody = .empty) {
        self.commandID = commandID
        self.status = status
        self.sequence = sequence
        self.body = body
    }

    /// The response to this request with `status` and `body`.
    public func response(_ status: CommandStatus = .ok, body: PDUBody = .empty) -> PDU {
        PDU(commandID.response, status: status, sequence: sequence, body: body)
    }
}
