import SMPP

/// One carrier connector: an SMPP 3.4 client bind to an SMSC (config `smpp_connectors[]`).
public struct SMPPConnectorSettings: Sendable, Equatable {
    /// How the connector binds (SMPP 3.4 §2.2): one transceiver session, or a transmitter for
    /// submits and a receiver for receipts and inbound messages.
    public enum BindMode: String, Sendable, Equatable, CaseIterable {
        case transceiver
        case transmitterAndReceiver = "transmitter_receiver"
    }

    /// How the SMSC writes, in receipts, the message ids it gave in `submit_sm_resp`.
    public enum ReceiptIDFormat: String, Sendable, Equatable, CaseIterable {
        /// As in `submit_sm_resp`, or as the same number in hex or decimal: each is tried.
        case auto
        /// As in `submit_sm_resp` (leading zeros and letter case aside).
        case same
        /// The number `submit_sm_resp` wrote in decimal, written in hex.
        case hex
        /// The number `submit_sm_resp` wrote in hex, written in decimal.
        case decimal
    }

    /// Names the connector in logs, metrics, `connectors status` and each message's record.
    public var name: String
    public var host: String
    public var port: Int
    /// At most 15 characters (SMPP 3.4 §4.1.1).
    public var systemID: String
    /// At most 8 characters (SMPP 3.4 §4.1.1).
    public var password: String
    public var systemType: String = ""
    public var bindMode: BindMode = .transceiver
    /// `submit_sm` in flight without their `submit_sm_resp`.
    public var window: Int = 10
    /// Submits per second at most; nil: as fast as the window allows.
    public var maxSubmitsPerSecond: Double?
    /// Seconds without traffic before an `enquire_link`.
    public var enquireLinkSeconds: Int = 30
    /// Seconds to wait for any response (bind, submit) before it counts as lost.
    public var responseTimeoutSeconds: Int = 10
    /// First and longest wait between reconnection attempts, in seconds (doubling in between).
    public var reconnectMinSeconds: Double = 1
    public var reconnectMaxSeconds: Double = 30
    /// Destination prefixes (E.164 with `+`) this connector serves; empty: every destination.
    public var prefixes: [String] = []
    /// TON/NPI of sources and destinations; nil: decided per address (alphanumeric sender ids TON 5
    /// NPI 0, `+` numbers TON 1 NPI 1, other digits TON 0 NPI 1).
    public var sourceTON: UInt8?
    public var sourceNPI: UInt8?
    public var destinationTON: UInt8?
    public var destinationNPI: UInt8?
    /// GSM-7 packing and long-message mode.
    public var text = TextCoding()
    /// `registered_delivery` of every `submit_sm`: 1 a receipt on success or failure, 2 on failure
    /// only, 0 none (SMPP 3.4 §5.2.17).
    public var registeredDelivery: UInt8 = 1
    public var receiptIDs: ReceiptIDFormat = .auto
    /// SMPP over TLS to the SMSC when set; nil: plain TCP.
    public var tls: TLSSettings?

    /// How the connector checks the SMSC's certificate. Verification is always on: a certificate
    /// that does not chain to the trusted roots or does not name the SMSC ends the connection.
    public struct TLSSettings: Sendable, Equatable {
        /// A PEM bundle of the CAs to trust, for carriers with a private CA; nil: the system's roots.
        public var caFile: String?
        /// The name the certificate must carry (and the SNI sent); nil: `host` (an IP address is
        /// checked against the certificate's IP addresses).
        public var serverName: String?

        public init(caFile: String? = nil, serverName: String? = nil) {
            self.caFile = caFile
            self.serverName = serverName
        }
    }

    public init(name: String, host: String, port: Int, systemID: String, password: String) {
        self.name = name
        self.host = host
        self.port = port
        self.systemID = systemID
        self.password = password
    }

    /// Whether this connector serves `destination` (E.164 with `+`).
    func serves(_ destination: String) -> Bool {
        prefixes.isEmpty || prefixes.contains { destination.hasPrefix($0) }
    }

    /// The SMPP address for a source (sender id or number).
    func sourceAddress(_ source: String) -> SMPPAddress {
        let automatic = Self.address(source)
        return SMPPAddress(
            ton: sourceTON ?? automatic.ton, npi: sourceNPI ?? automatic.npi, address: automatic.address)
    }

    func destinationAddress(_ destination: String) -> SMPPAddress {
        let automatic = Self.address(destination)
        return SMPPAddress(
            ton: destinationTON ?? automatic.ton, npi: destinationNPI ?? automatic.npi, address: automatic.address)
    }

    /// An alphanumeric sender id is TON 5 (alphanumeric) NPI 0; `+` and digits TON 1 (international)
    /// NPI 1 (E.164) without the `+`; other digits TON 0 (unknown) NPI 1 (SMPP 3.4 §5.2.5–6).
    static func address(_ value: String) -> SMPPAddress {
        if value.hasPrefix("+"), value.dropFirst().allSatisfy(\.isASCIIDigit) {
            return SMPPAddress(
                ton: SMPPAddress.tonInternational, npi: SMPPAddress.npiISDN, address: String(value.dropFirst()))
        }
        if value.allSatisfy(\.isASCIIDigit) {
            return SMPPAddress(ton: SMPPAddress.tonUnknown, npi: SMPPAddress.npiISDN, address: value)
        }
        return SMPPAddress(ton: SMPPAddress.tonAlphanumeric, npi: SMPPAddress.npiUnknown, address: value)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
