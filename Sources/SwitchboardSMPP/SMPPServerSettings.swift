/// The SMPP server customers' ESMEs bind to (config `smpp_server`, `serve --smpp-port`).
public struct SMPPServerSettings: Sendable, Equatable {
    /// Address to listen on; nil: the HTTP listener's `host`.
    public var host: String?
    /// 0: no plain SMPP listener.
    public var port: Int = 0
    /// SMPP over TLS on this port (beside or instead of `port`, as SMSCs commonly offer both); 0: none.
    /// The certificate is the daemon's to give (`tlsConfiguration` of `SMPPServer`).
    public var tlsPort: Int = 0
    /// Binds one account may hold at once (each credential may bind several times).
    public var maxBindsPerAccount: Int = 4
    /// `deliver_sm` in flight per bind.
    public var window: Int = 10
    /// The ESME's requests (`submit_sm`…) answered at once per bind; while that many are, the bind
    /// is not read, so TCP holds the ESME back (SMPP 3.4 §2.6 windowing, kept by the SMSC side).
    public var submitWindow: Int = 16
    /// Connections (bound or not) held at once; beyond it a new one is closed at once. Nil: a share
    /// of the descriptor budget the daemon sets with `SMPPServer.limitConnections(to:)`, so that
    /// idle connections cannot take the descriptors SQLite and the add-ons need.
    public var maxConnections: Int?
    /// A connection that has not bound this many seconds after it opened is closed: SMPP 3.4
    /// section 7.2's `session_init_timer`, so that a client trickling a bind a byte at a time
    /// cannot hold a connection.
    public var sessionInitSeconds: Int = 30
    /// A bind with no PDU from the ESME for this long is closed (ESMEs keep idle binds with
    /// `enquire_link`).
    public var idleTimeoutSeconds: Int = 120
    /// Seconds to wait for the ESME's response to a `deliver_sm`.
    public var responseTimeoutSeconds: Int = 10
    /// How text with data_coding 0 is read and written: GSM 03.38 unpacked (the common case).
    public var text = TextCodingSettings()

    public init() {}

    public var isEnabled: Bool { port > 0 || tlsPort > 0 }
}

/// The server's text settings (GSM-7 packing); long messages a customer sends arrive as UDH or
/// SAR parts or in `message_payload`, whatever they choose.
public struct TextCodingSettings: Sendable, Equatable {
    public var gsm7Packed = false
    public init() {}
}
