#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How many HTTP connections the daemon may hold, from the process's descriptor limit.
///
/// At start the soft `RLIMIT_NOFILE` is raised to the hard limit (the soft limit is often 1,024
/// while the hard one is far higher; raising it needs no privilege, see setrlimit(2)). Of the
/// descriptors that gives, a reserve is kept for the daemon's own work: SQLite's database, WAL and
/// shared-memory files for each connection, add-on runners' pipes, logs, and the status callbacks
/// in flight (`callbacks.max_concurrency`, up to a quarter of the limit). With the SMPP server on,
/// its connections get a share of the rest (an eighth, at most half, unless
/// `smpp_server.max_connections` says otherwise); the remainder is the HTTP connection cap, unless
/// the operator set `http.max_connections` lower.
struct ConnectionBudget: Equatable {
    /// The descriptor limit the daemon runs with.
    var descriptorLimit: Int
    /// Descriptors kept for the daemon's own work.
    var reserve: Int
    /// HTTP connections open at once.
    var maxConnections: Int
    /// SMPP server connections open at once (0 when the server is off).
    var smppConnections: Int
    /// Why the operator's `http.max_connections` (or `smpp_server.max_connections`) was lowered.
    var warning: String?

    /// The fewest connections the daemon accepts to run with, however low the limit.
    static let minimumConnections = 8
    /// Descriptors the daemon's own work needs besides status callbacks.
    static let baseReserve = 64

    init(
        descriptorLimit: Int, callbackConcurrency: Int, configured: Int?, smppServer: Bool = false,
        smppConfigured: Int? = nil
    ) {
        self.descriptorLimit = descriptorLimit
        reserve = Self.baseReserve + min(callbackConcurrency, descriptorLimit / 4)
        var available = max(Self.minimumConnections, descriptorLimit - reserve)
        var warnings: [String] = []
        if smppServer {
            let most = max(Self.minimumConnections, available / 2)
            smppConnections = min(smppConfigured ?? max(Self.minimumConnections, available / 8), most)
            if let smppConfigured, smppConfigured > most {
                warnings.append(
                    "smpp_server.max_connections \(smppConfigured) is more than half of what the descriptor limit "
                        + "\(descriptorLimit) allows after keeping \(reserve) for the daemon's own work; using \(most). "
                        + "Raise the limit (ulimit -n, or LimitNOFILE= in a systemd unit) to allow more.")
            }
            available = max(Self.minimumConnections, available - smppConnections)
        } else {
            smppConnections = 0
        }
        defer { warning = warnings.isEmpty ? nil : warnings.joined(separator: " ") }
        if let configured, configured > available {
            maxConnections = available
            warnings.append(
                "http.max_connections \(configured) is more than the descriptor limit \(descriptorLimit) allows after "
                    + "keeping \(reserve) for the daemon's own work\(smppServer ? " and the SMPP server's share" : ""); "
                    + "using \(available). Raise the limit (ulimit -n, or LimitNOFILE= in a systemd unit) to allow more."
            )
        } else {
            maxConnections = configured ?? available
        }
    }

    /// Raises the soft descriptor limit to the hard one and returns the soft limit in force.
    static func raiseDescriptorLimit() -> Int {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return 1024 }
        if limits.rlim_cur < limits.rlim_max {
            var raised = limits
            raised.rlim_cur = limits.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
        }
        // RLIM_INFINITY, or more than any table holds: count it as plenty.
        return Int(clamping: min(limits.rlim_cur, 1 << 20))
    }
}
