/// An SMPP `command_status` (SMPP 3.4 §5.1.3): 0 in requests and in successful responses, an error
/// code otherwise.
public struct CommandStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static let ok = CommandStatus(0x00)
    public static let invalidMessageLength = CommandStatus(0x01)
    public static let invalidCommandLength = CommandStatus(0x02)
    public static let invalidCommandID = CommandStatus(0x03)
    public static let invalidBindStatus = CommandStatus(0x04)
    public static let alreadyBound = CommandStatus(0x05)
    public static let invalidRegisteredDelivery = CommandStatus(0x07)
    public static let systemError = CommandStatus(0x08)
    public static let invalidSourceAddress = CommandStatus(0x0A)
    public static let invalidDestinationAddress = CommandStatus(0x0B)
    public static let invalidMessageID = CommandStatus(0x0C)
    public static let bindFailed = CommandStatus(0x0D)
    public static let invalidPassword = CommandStatus(0x0E)
    public static let invalidSystemID = CommandStatus(0x0F)
    public static let messageQueueFull = CommandStatus(0x14)
    public static let invalidEsmClass = CommandStatus(0x43)
    public static let submitFailed = CommandStatus(0x45)
    public static let invalidSourceTON = CommandStatus(0x48)
    public static let invalidSourceNPI = CommandStatus(0x49)
    public static let invalidDestinationTON = CommandStatus(0x50)
    public static let invalidDestinationNPI = CommandStatus(0x51)
    public static let invalidSystemType = CommandStatus(0x53)
    public static let throttled = CommandStatus(0x58)
    public static let invalidScheduledDeliveryTime = CommandStatus(0x61)
    public static let invalidExpiry = CommandStatus(0x62)
    public static let temporaryAppError = CommandStatus(0x64)
    public static let permanentAppError = CommandStatus(0x65)
    public static let rejectedByApp = CommandStatus(0x66)
    public static let queryFailed = CommandStatus(0x67)
    public static let invalidOptionalParameterStream = CommandStatus(0xC0)
    public static let optionalParameterNotAllowed = CommandStatus(0xC1)
    public static let invalidParameterLength = CommandStatus(0xC2)
    public static let missingOptionalParameter = CommandStatus(0xC3)
    public static let invalidOptionalParameterValue = CommandStatus(0xC4)
    public static let deliveryFailure = CommandStatus(0xFE)
    public static let unknownError = CommandStatus(0xFF)

    /// The SMPP name (`ESME_RTHROTTLED`), or the code in hex for one SMPP 3.4 does not name.
    public var name: String {
        switch rawValue {
        case 0x00: "ESME_ROK"
        case 0x01: "ESME_RINVMSGLEN"
        case 0x02: "ESME_RINVCMDLEN"
        case 0x03: "ESME_RINVCMDID"
        case 0x04: "ESME_RINVBNDSTS"
        case 0x05: "ESME_RALYBND"
        case 0x06: "ESME_RINVPRTFLG"
        case 0x07: "ESME_RINVREGDLVFLG"
        case 0x08: "ESME_RSYSERR"
        case 0x0A: "ESME_RINVSRCADR"
        case 0x0B: "ESME_RINVDSTADR"
        case 0x0C: "ESME_RINVMSGID"
        case 0x0D: "ESME_RBINDFAIL"
        case 0x0E: "ESME_RINVPASWD"
        case 0x0F: "ESME_RINVSYSID"
        case 0x11: "ESME_RCANCELFAIL"
        case 0x13: "ESME_RREPLACEFAIL"
        case 0x14: "ESME_RMSGQFUL"
        case 0x15: "ESME_RINVSERTYP"
        case 0x33: "ESME_RINVNUMDESTS"
        case 0x40: "ESME_RINVDESTFLAG"
        case 0x42: "ESME_RINVSUBREP"
        case 0x43: "ESME_RINVESMCLASS"
        case 0x44: "ESME_RCNTSUBDL"
        case 0x45: "ESME_RSUBMITFAIL"
        case 0x48: "ESME_RINVSRCTON"
        case 0x49: "ESME_RINVSRCNPI"
        case 0x50: "ESME_RINVDSTTON"
        case 0x51: "ESME_RINVDSTNPI"
        case 0x53: "ESME_RINVSYSTYP"
        case 0x54: "ESME_RINVREPFLAG"
        case 0x55: "ESME_RINVNUMMSGS"
        case 0x58: "ESME_RTHROTTLED"
        case 0x61: "ESME_RINVSCHED"
        case 0x62: "ESME_RINVEXPIRY"
        case 0x63: "ESME_RINVDFTMSGID"
        case 0x64: "ESME_RX_T_APPN"
        case 0x65: "ESME_RX_P_APPN"
        case 0x66: "ESME_RX_R_APPN"
        case 0x67: "ESME_RQUERYFAIL"
        case 0xC0: "ESME_RINVOPTPARSTREAM"
        case 0xC1: "ESME_ROPTPARNOTALLWD"
        case 0xC2: "ESME_RINVPARLEN"
        case 0xC3: "ESME_RMISSINGOPTPARAM"
        case 0xC4: "ESME_RINVOPTPARAMVAL"
        case 0xFE: "ESME_RDELIVERYFAILURE"
        case 0xFF: "ESME_RUNKNOWNERR"
        default: "0x" + String(rawValue, radix: 16, uppercase: true)
        }
    }

    /// Whether the SMSC asks for the same PDU later rather than refusing it: a full queue or a
    /// throttle (SMPP 3.4 §5.1.3), or a temporary application error.
    public var isTransient: Bool {
        self == .throttled || self == .messageQueueFull || self == .temporaryAppError || self == .systemError
    }

    public var description: String { "\(name) (0x\(String(rawValue, radix: 16, uppercase: true)))" }
}
