import Foundation
import SwitchboardAPI
import SwitchboardCore

extension ServeConfiguration {
    /// How many password hashes (scrypt) run at once and how many requests may wait for one.
    public struct PasswordHashing: Sendable, Equatable {
        /// Hashes at once; default: the machine's active cores.
        public var maxConcurrent = ProcessInfo.processInfo.activeProcessorCount
        /// Requests waiting for a hash; more get 503 with Retry-After.
        public var maxWaiting = 32
        public init() {}
    }

    /// Sign-in sessions from `POST /v1/login`.
    public struct Sessions: Sendable, Equatable {
        /// Seconds a session token works after sign-in (default 12 hours).
        public var lifetimeSeconds = 43_200
        /// Live sessions per account; a sign-in beyond this ends the oldest.
        public var maxPerAccount = 10
        public init() {}
    }

    /// The trusted proxies as networks; the configuration was validated, so every entry parses.
    var trustedProxyNetworks: [IPNetwork] { trustedProxies.compactMap { IPNetwork(cidr: $0) } }

    /// Reads `trusted_proxies`, `password_hashing` and `sessions`.
    mutating func applyAuthentication(_ reader: inout ConfigReader) {
        reader.stringArray("trusted_proxies", into: &trustedProxies)
        for problem in Self.proxyProblems(trustedProxies, field: "trusted_proxies") {
            reader.record(problem.field, problem.message)
        }
        reader.object("password_hashing") { sub in
            sub.allow(["max_concurrent", "max_waiting"])
            sub.int("max_concurrent", in: 1...1024, into: &passwordHashing.maxConcurrent)
            sub.int("max_waiting", in: 0...100_000, into: &passwordHashing.maxWaiting)
        }
        reader.object("sessions") { sub in
            sub.allow(["lifetime_seconds", "max_per_account"])
            sub.int("lifetime_seconds", in: 60...2_592_000, into: &sessions.lifetimeSeconds)
            sub.int("max_per_account", in: 1...1000, into: &sessions.maxPerAccount)
        }
    }

    /// Applies `SWITCHBOARD_TRUSTED_PROXIES` (comma-separated CIDR networks; empty trusts none) and
    /// returns what is wrong with it.
    mutating func applyAuthenticationEnvironment(_ environment: [String: String]) -> [FieldError] {
        guard let text = environment["SWITCHBOARD_TRUSTED_PROXIES"] else { return [] }
        let (entries, problem) = Self.listEntries(
            text, variable: "SWITCHBOARD_TRUSTED_PROXIES", example: "10.0.0.0/8,192.168.1.10")
        trustedProxies = entries
        return (problem.map { [$0] } ?? []) + Self.proxyProblems(trustedProxies, field: "SWITCHBOARD_TRUSTED_PROXIES")
    }

    static func proxyProblems(_ entries: [String], field: String) -> [FieldError] {
        entries.enumerated().compactMap { index, entry in
            IPNetwork(cidr: entry) != nil
                ? nil
                : FieldError(
                    "\(field)[\(index)]",
                    "must be an IP address or CIDR network such as 10.0.0.0/8 or 2001:db8::/32, got \"\(entry)\"")
        }
    }
}
