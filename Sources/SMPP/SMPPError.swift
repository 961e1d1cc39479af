/// Why bytes received are not a PDU this codec accepts. Each case names the field at fault, so a
/// log line (and the `generic_nack` sent back) tells the peer what to fix.
public enum SMPPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `command_length` below 16 (the header) or above the limit the connection allows;
    /// `sequence` is the header's sequence_number when all 16 octets of it arrived, else 0.
    case invalidCommandLength(UInt32, limit: Int, sequence: UInt32 = 0)
    /// The body does not parse: `field` is missing, too long or malformed.
    case malformed(command: CommandID, sequence: UInt32, field: String, reason: String)

    /// The `command_status` to answer with (SMPP 3.4 §5.1.3): a bind's own codes for its
    /// `system_id`, `password` and `system_type` (what a client shows its operator), else
    /// `ESME_RINVMSGLEN`, the field's length or content being wrong.
    public var status: CommandStatus {
        switch self {
        case .invalidCommandLength: return .invalidCommandLength
        case .malformed(let command, _, let field, _):
            guard [.bindTransmitter, .bindReceiver, .bindTransceiver].contains(command) else {
                return .invalidMessageLength
            }
            switch field {
            case "system_id": return .invalidSystemID
            case "password": return .invalidPassword
            case "system_type": return .invalidSystemType
            default: return .bindFailed
            }
        }
    }

    /// The command to answer with: the request's own response when its header was read (SMPP 3.4
    /// §4.3 keeps `generic_nack` for a `command_length` or `command_id` that cannot be used), else
    /// `generic_nack`.
    public var response: CommandID {
        switch self {
        case .invalidCommandLength: .genericNack
        case .malformed(let command, _, _, _): command.hasResponse ? command.response : .genericNack
        }
    }

    /// The sequence number to answer under, when the header could be read.
    public var sequence: UInt32 {
        switch self {
        case .invalidCommandLength(_, _, let sequence): sequence
        case .malformed(_, let sequence, _, _): sequence
        }
    }

    public var description: String {
        switch self {
        case .invalidCommandLength(let length, let limit, _):
            "command_length \(length) is outside 16...\(limit) octets; the PDU header is 16 octets and this peer accepts PDUs up to \(limit)"
        case .malformed(let command, let sequence, let field, let reason):
            "\(command) (sequence \(sequence)): \(field) \(reason)"
        }
    }
}
