/// What `switchboard connectors status` and `GET /v1/admin/connectors` show of one carrier connector.
public struct ConnectorStatus: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Every session it needs is bound.
        case bound
        /// Connecting or binding, or waiting to try again after a failure.
        case connecting
        /// Stopped (the daemon is shutting down).
        case stopped
    }

    public var name: String
    /// `host:port` of the SMSC.
    public var address: String
    public var bindMode: String
    public var state: State
    /// Requests in flight, and the most allowed.
    public var windowInUse: Int
    public var window: Int
    public var prefixes: [String]
    /// Counts since the daemon started.
    public var submitted: Int
    public var accepted: Int
    public var rejected: Int
    public var throttled: Int
    public var timeouts: Int
    public var receipts: Int
    public var inbound: Int
    /// Accepted submits per second over the last 10 seconds.
    public var throughput: Double
    /// The last error (a refused bind, a lost connection), with when it happened (ms since the epoch).
    public var lastError: String?
    public var lastErrorAt: Int64?
    /// While the SMSC throttles: until when this connector is not used (ms since the epoch).
    public var throttledUntil: Int64?

    public init(
        name: String, address: String, bindMode: String, state: State, windowInUse: Int, window: Int,
        prefixes: [String], submitted: Int, accepted: Int, rejected: Int, throttled: Int, timeouts: Int,
        receipts: Int, inbound: Int, throughput: Double, lastError: String?, lastErrorAt: Int64?,
        throttledUntil: Int64?
    ) {
        self.name = name
        self.address = address
        self.bindMode = bindMode
        self.state = state
        self.windowInUse = windowInUse
        self.window = window
        self.prefixes = prefixes
        self.submitted = submitted
        self.accepted = accepted
        self.rejected = rejected
        self.throttled = throttled
        self.timeouts = timeouts
        self.receipts = receipts
        self.inbound = inbound
        self.throughput = throughput
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.throttledUntil = throttledUntil
    }

    enum CodingKeys: String, CodingKey {
        case name, address, state, window, prefixes, submitted, accepted, rejected, throttled, timeouts, receipts
        case inbound, throughput
        case bindMode = "bind_mode"
        case windowInUse = "window_in_use"
        case lastError = "last_error"
        case lastErrorAt = "last_error_at"
        case throttledUntil = "throttled_until"
    }
}
