/// An SMPP `command_id` (SMPP 3.4 §5.1.2.1). A response's id is its request's with bit 31 set.
public struct CommandID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let genericNack = CommandID(rawValue: 0x8000_0000)
    public static let bindReceiver = CommandID(rawValue: 0x0000_0001)
    public static let bindReceiverResp = CommandID(rawValue: 0x8000_0001)
    public static let bindTransmitter = CommandID(rawValue: 0x0000_0002)
    public static let bindTransmitterResp = CommandID(rawValue: 0x8000_0002)
    public static let querySm = CommandID(rawValue: 0x0000_0003)
    public static let submitSm = CommandID(rawValue: 0x0000_0004)
    public static let submitSmResp = CommandID(rawValue: 0x8000_0004)
    public static let deliverSm = CommandID(rawValue: 0x0000_0005)
    public static let deliverSmResp = CommandID(rawValue: 0x8000_0005)
    public static let unbind = CommandID(rawValue: 0x0000_0006)
    public static let unbindResp = CommandID(rawValue: 0x8000_0006)
    public static let bindTransceiver = CommandID(rawValue: 0x0000_0009)
    public static let bindTransceiverResp = CommandID(rawValue: 0x8000_0009)
    public static let querySmResp = CommandID(rawValue: 0x8000_0003)
    public static let replaceSm = CommandID(rawValue: 0x0000_0007)
    public static let cancelSm = CommandID(rawValue: 0x0000_0008)
    public static let outbind = CommandID(rawValue: 0x0000_000B)
    public static let enquireLink = CommandID(rawValue: 0x0000_0015)
    public static let enquireLinkResp = CommandID(rawValue: 0x8000_0015)
    public static let submitMulti = CommandID(rawValue: 0x0000_0021)
    public static let alertNotification = CommandID(rawValue: 0x0000_0102)
    public static let dataSm = CommandID(rawValue: 0x0000_0103)

    /// Every command_id SMPP 3.4 defines (§5.1.2.1): requests and their responses.
    private static let defined: Set<UInt32> = [
        0x8000_0000, 0x01, 0x8000_0001, 0x02, 0x8000_0002, 0x03, 0x8000_0003, 0x04, 0x8000_0004, 0x05, 0x8000_0005,
        0x06, 0x8000_0006, 0x07, 0x8000_0007, 0x08, 0x8000_0008, 0x09, 0x8000_0009, 0x0B, 0x15, 0x8000_0015, 0x21,
        0x8000_0021, 0x102, 0x103, 0x8000_0103,
    ]

    /// Whether SMPP 3.4 defines this command_id (§5.1.2.1). Any other is answered `generic_nack`
    /// with `ESME_RINVCMDID`, a response as much as a request (§4.3).
    public var isDefined: Bool { Self.defined.contains(rawValue) }

    /// Whether this is a request that has a response of its own (all but `outbind`,
    /// `alert_notification` and `generic_nack`, SMPP 3.4 §4).
    public var hasResponse: Bool {
        !isResponse && isDefined && self != .outbind && self != .alertNotification
    }

    /// Whether this is a response (bit 31 set, SMPP 3.4 §5.1.2.1).
    public var isResponse: Bool { rawValue & 0x8000_0000 != 0 }

    /// The response to this request.
    public var response: CommandID { CommandID(rawValue: rawValue | 0x8000_0000) }

    public var description: String {
        switch self {
        case .genericNack: "generic_nack"
        case .bindReceiver: "bind_receiver"
        case .bindReceiverResp: "bind_receiver_resp"
        case .bindTransmitter: "bind_transmitter"
        case .bindTransmitterResp: "bind_transmitter_resp"
        case .querySm: "query_sm"
        case .querySmResp: "query_sm_resp"
        case .replaceSm: "replace_sm"
        case .cancelSm: "cancel_sm"
        case .submitMulti: "submit_multi"
        case .alertNotification: "alert_notification"
        case .dataSm: "data_sm"
        case .submitSm: "submit_sm"
        case .submitSmResp: "submit_sm_resp"
        case .deliverSm: "deliver_sm"
        case .deliverSmResp: "deliver_sm_resp"
        case .unbind: "unbind"
        case .unbindResp: "unbind_resp"
        case .bindTransceiver: "bind_transceiver"
        case .bindTransceiverResp: "bind_transceiver_resp"
        case .outbind: "outbind"
        case .enquireLink: "enquire_link"
        case .enquireLinkResp: "enquire_link_resp"
        default: "command 0x" + String(rawValue, radix: 16, uppercase: true)
        }
    }
}
