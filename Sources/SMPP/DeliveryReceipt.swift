/// A delivery receipt in a `deliver_sm` (esm_class 0x04): the SMSC's id of the message and its
/// final state, from the `receipted_message_id` and `message_state` TLVs (SMPP 3.4 §5.3.2.12,
/// §5.3.2.35) or, where an SMSC sends only text, the text form of SMPP 3.4 Appendix B:
/// `id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:…`.
public struct DeliveryReceipt: Sendable, Equatable {
    /// The final states (SMPP 3.4 §5.2.28 and the `stat` words of Appendix B).
    public enum State: String, Sendable, Equatable {
        case enroute = "ENROUTE"
        case delivered = "DELIVRD"
        case expired = "EXPIRED"
        case deleted = "DELETED"
        case undeliverable = "UNDELIV"
        case accepted = "ACCEPTD"
        case unknown = "UNKNOWN"
        case rejected = "REJECTD"

        /// From a `message_state` TLV value.
        public init?(messageState: UInt32) {
            switch messageState {
            case 1: self = .enroute
            case 2: self = .delivered
            case 3: self = .expired
            case 4: self = .deleted
            case 5: self = .undeliverable
            case 6: self = .accepted
            case 7: self = .unknown
            case 8: self = .rejected
            default: return nil
            }
        }

        /// The `message_state` TLV value.
        public var messageState: UInt8 {
            switch self {
            case .enroute: 1
            case .delivered: 2
            case .expired: 3
            case .deleted: 4
            case .undeliverable: 5
            case .accepted: 6
            case .unknown: 7
            case .rejected: 8
            }
        }

        /// Whether the state is final (every state but ENROUTE and ACCEPTD, which some SMSCs send
        /// as intermediate notifications).
        public var isFinal: Bool { self != .enroute && self != .accepted }
    }

    public var messageID: String
    public var state: State
    /// The `err` field (network-specific, three digits by convention), or the network error
    /// code TLV's error; nil when neither is given.
    public var error: Int?

    public init(messageID: String, state: State, error: Int? = nil) {
        self.messageID = messageID
        self.state = state
        self.error = error
    }

    /// Reads the receipt of `message` (TLVs first, then the text); nil when it names no id or state.
    public init?(_ message: ShortMessage) {
        // The text after a user data header when esm_class says there is one (some SMSCs send
        // receipts with esm_class 0x44); others set that bit over a bare text, which is then read
        // whole when it names an id and the text after the supposed header does not.
        var fields = Self.textFields(String(decoding: message.content, as: UTF8.self))
        if message.hasUserDataHeader, let length = message.content.first {
            let afterHeader = Self.textFields(
                String(decoding: message.content.dropFirst(1 + Int(length)), as: UTF8.self))
            if afterHeader["id"] != nil || fields["id"] == nil { fields = afterHeader }
        }
        let tlvID = message.tlvs[tag: TLV.receiptedMessageID]?.cString
        guard let id = (tlvID?.isEmpty == false ? tlvID : nil) ?? fields["id"], !id.isEmpty else { return nil }
        let tlvState = message.tlvs[tag: TLV.messageState]?.integer.flatMap(State.init(messageState:))
        guard let state = tlvState ?? fields["stat"].flatMap({ State(rawValue: $0.uppercased()) }) else { return nil }
        self.messageID = id
        self.state = state
        if let err = fields["err"], let code = Int(err) {
            self.error = code
        } else if let network = message.tlvs[tag: TLV.networkErrorCode]?.value, network.count == 3 {
            // network_error_code: type (1 octet), error code (2 octets) (SMPP 3.4 §5.3.2.31).
            self.error = Int(network[1]) << 8 | Int(network[2])
        } else {
            self.error = nil
        }
    }

    /// The text form, as an SMSC writes it.
    public func text(submitted: String, done: String) -> String {
        let delivered = state == .delivered ? "001" : "000"
        let err = String(format3: error ?? 0)
        return
            "id:\(messageID) sub:001 dlvrd:\(delivered) submit date:\(submitted) done date:\(done) stat:\(state.rawValue) err:\(err) text:"
    }

    /// `key:value` pairs of the text form; keys lowercased, `submit date` and `done date` kept whole.
    static func textFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        var index = 0
        while index < words.count {
            var word = words[index]
            // "submit date:…" and "done date:…" are two words.
            if (word.lowercased() == "submit" || word.lowercased() == "done"), index + 1 < words.count {
                index += 1
                word = Substring(word + " " + words[index])
            }
            if let colon = word.firstIndex(of: ":") {
                let key = word[..<colon].lowercased()
                if key == "text" { break }
                fields[key] = String(word[word.index(after: colon)...])
            }
            index += 1
        }
        return fields
    }
}

extension String {
    /// A number as at least three digits (`err:001`).
    init(format3 value: Int) {
        let digits = String(value)
        self = String(repeating: "0", count: Swift.max(0, 3 - digits.count)) + digits
    }
}
