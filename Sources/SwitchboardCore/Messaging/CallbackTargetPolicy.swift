import Foundation

/// Which hosts status callbacks may reach. A callback URL is the customer's, and the daemon POSTs
/// to it from inside the operator's network; without this, `http://127.0.0.1:8080/...` points the
/// daemon at its own API (failed authentications there lock every client on that address out), and
/// `http://169.254.169.254/...` at the cloud's metadata service (server-side request forgery,
/// OWASP API7:2023).
///
/// **Every address a callback would reach must be a public one**, unless the operator allows it:
/// - at submission, a URL whose host is a refused address literal in any spelling the resolver
///   reads (`127.1`, `2130706433`, `0x7f000001`, `[::ffff:127.0.0.1]`) or a refused name
///   (`localhost`) is answered with 422;
/// - at connection time, every address the host name resolves to is checked, and the connection
///   goes to one of those checked addresses, so a name that resolves to a public address when the
///   message is sent and to `127.0.0.1` later (DNS rebinding) is refused too.
///
/// Refused by default (the IANA special-purpose registries, RFC 6890): unspecified `0.0.0.0/8` and
/// `::`, loopback `127.0.0.0/8` and `::1`, private `10/8`, `172.16/12`, `192.168/16` (RFC 1918) and
/// `fc00::/7` (RFC 4193), link-local `169.254/16` (RFC 3927, where cloud metadata answers) and
/// `fe80::/10`, shared `100.64/10` (RFC 6598), `192.0.0.0/24`, benchmarking `198.18/15`, multicast
/// `224/4` and `ff00::/8`, reserved `240/4` with broadcast `255.255.255.255`, site-local `fec0::/10`,
/// discard `100::/64`, local NAT64 `64:ff9b:1::/48`; and IPv6 addresses that carry one of those
/// IPv4 addresses (mapped `::ffff:0:0/96`, compatible `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`).
public struct CallbackTargetPolicy: Sendable, Equatable {
    /// Address blocks the operator allows although they are refused by default.
    public private(set) var allowedNetworks: [AddressBlock] = []
    /// Host names the operator allows whatever they resolve to, lower case: exact (`hooks.corp`)
    /// or every subdomain (`*.corp.example`).
    public private(set) var allowedNames: [String] = []

    /// Whether `http://` targets are allowed (`callbacks.allow_http`); https only by default.
    public private(set) var allowsPlainHTTP = false

    /// The default: only public addresses, over https.
    public init() {}

    /// The same policy, allowing `http://` targets too when `allowed`.
    public func allowingPlainHTTP(_ allowed: Bool) -> CallbackTargetPolicy {
        var policy = self
        policy.allowsPlainHTTP = allowed
        return policy
    }

    /// A refusal of `url` for its scheme: `http://` while `callbacks.allow_http` is off; nil otherwise.
    public func schemeRefusal(forURL url: String) -> Refusal? {
        guard !allowsPlainHTTP, URL(string: url)?.scheme?.lowercased() == "http" else { return nil }
        return Refusal(
            host: Self.host(ofURL: url) ?? url, address: nil,
            kind: "an http:// target (callbacks.allow_http is off: callbacks go over https only)")
    }

    /// A policy that also allows `allowTargets` (`callbacks.allow_targets`): CIDR blocks (`10.0.0.0/8`,
    /// `::1/128`), single addresses (`127.0.0.1`) and host names (`hooks.corp.example`,
    /// `*.corp.example`).
    /// - Throws: `ConfigurationError` naming each entry that is none of these.
    public init(allowTargets: [String]) throws {
        let problems = Self.problems(inAllowTargets: allowTargets)
        if !problems.isEmpty { throw ConfigurationError(source: "callbacks.allow_targets", problems: problems) }
        for entry in allowTargets {
            if let network = AddressBlock(entry) {
                allowedNetworks.append(network)
            } else {
                allowedNames.append(Self.normalized(entry))
            }
        }
    }

    /// What is wrong with each `callbacks.allow_targets` entry, as `allow_targets[i]` field errors.
    public static func problems(inAllowTargets entries: [String], field: String = "allow_targets") -> [FieldError] {
        var problems: [FieldError] = []
        for (index, entry) in entries.enumerated() {
            if AddressBlock(entry) != nil { continue }
            var name = normalized(entry)
            if name.hasPrefix("*.") { name.removeFirst(2) }
            let labels = name.split(separator: ".", omittingEmptySubsequences: false)
            let valid =
                !name.isEmpty && !entry.contains("/")
                && labels.allSatisfy { label in
                    !label.isEmpty && label.count <= 63
                        && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
                }
            if !valid {
                problems.append(
                    FieldError(
                        "\(field)[\(index)]",
                        "'\(entry)' is not an address block, an address or a host name; write e.g. 10.0.0.0/8, 127.0.0.1, ::1/128, hooks.corp.example or *.corp.example"
                    ))
            }
        }
        return problems
    }

    /// Why a callback may not go to a host or address; says what the address is and how to allow it.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// The host as written in the URL.
        public var host: String
        /// The refused address, when the refusal is about one (nil for a refused name).
        public var address: HostAddress?
        /// What kind of destination it is, e.g. `loopback (127.0.0.0/8)`.
        public var kind: String

        /// `127.1 is 127.0.0.1, loopback (127.0.0.0/8), which webhooks and callbacks may not reach`;
        /// `hooks.example.com resolves to 10.0.0.7, …`; `localhost is a loopback name (RFC 6761), …`.
        public var description: String {
            let subject: String
            switch address {
            case nil: subject = "\(host) is "
            case let address? where address.description == host: subject = "\(host) is "
            case let address? where address == HostAddress(literal: host): subject = "\(host) is \(address), "
            case let address?: subject = "\(host) resolves to \(address), "
            }
            return subject + "\(kind), which webhooks and callbacks may not reach"
        }
    }

    /// The host of an absolute URL as the HTTP client connects to it: `URL.host` with IPv6 brackets
    /// removed. Nil when the text has no host.
    public static func host(ofURL text: String) -> String? {
        guard let url = URL(string: text), var host = url.host, !host.isEmpty else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }

    /// The submission-time check of a callback URL, which needs no DNS: a refused address literal
    /// or a refused name. Nil when the URL may be accepted (its addresses are checked again at
    /// every connection).
    public func refusal(forURL text: String) -> Refusal? {
        guard let host = Self.host(ofURL: text) else { return nil }
        // `127.0.0.1.` is the address with a root label: resolvers read it as the literal, so it
        // is refused now, not only when a delivery connects.
        let literal = host.hasSuffix(".") ? String(host.dropLast()) : host
        if let address = HostAddress(literal: literal) { return refusal(host: host, addresses: [address]) }
        return refusal(forName: host)
    }

    /// A refused name (`localhost`, a cloud metadata name) the operator did not allow; nil otherwise.
    public func refusal(forName host: String) -> Refusal? {
        let name = Self.normalized(host)
        if allowsName(name) { return nil }
        if let kind = Self.refusedNames.first(where: { $0.matches(name) })?.kind {
            return Refusal(host: host, address: nil, kind: kind)
        }
        return nil
    }

    /// Whether the operator allowed this host name whatever it resolves to.
    public func allowsName(_ host: String) -> Bool {
        let name = Self.normalized(host)
        return allowedNames.contains { allowed in
            if allowed.hasPrefix("*.") { return name.hasSuffix(allowed.dropFirst()) }
            return name == allowed
        }
    }

    /// The connection-time check: the first refused address among `addresses` (every address the
    /// host resolved to), or nil when all may be reached. A name the operator allowed passes whatever
    /// it resolves to.
    public func refusal(host: String, addresses: [HostAddress]) -> Refusal? {
        if HostAddress(literal: host) == nil, allowsName(host) { return nil }
        for address in addresses {
            if let kind = kind(of: address) { return Refusal(host: host, address: address, kind: kind) }
        }
        return nil
    }

    /// What makes `address` refused (e.g. `loopback (127.0.0.0/8)`), or nil when it is public or
    /// allowed by the operator.
    public func kind(of address: HostAddress) -> String? {
        let effective = address.mappedIPv4 ?? address
        if allowedNetworks.contains(where: { $0.contains(effective) || $0.contains(address) }) { return nil }
        if let blocked = Self.refusedNetworks.first(where: { $0.network.contains(effective) }) {
            return "\(blocked.kind) (\(blocked.network))"
        }
        if let inner = effective.translatedIPv4, let kind = kind(of: inner) {
            return "a translation of \(inner), \(kind)"
        }
        return nil
    }

    static func normalized(_ host: String) -> String {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }

    private struct RefusedName {
        var name: String
        var subdomains: Bool
        var kind: String

        func matches(_ host: String) -> Bool {
            host == name || (subdomains && host.hasSuffix("." + name))
        }
    }

    /// Names refused without asking DNS. `localhost` and its subdomains are loopback by RFC 6761
    /// section 6.3; the others are Debian's loopback aliases and the cloud metadata services' names.
    private static let refusedNames: [RefusedName] = [
        RefusedName(name: "localhost", subdomains: true, kind: "a loopback name (RFC 6761)"),
        RefusedName(name: "localhost.localdomain", subdomains: false, kind: "a loopback name"),
        RefusedName(name: "ip6-localhost", subdomains: false, kind: "a loopback name"),
        RefusedName(name: "ip6-loopback", subdomains: false, kind: "a loopback name"),
        RefusedName(name: "metadata.google.internal", subdomains: false, kind: "a cloud metadata service"),
        RefusedName(name: "metadata.goog", subdomains: false, kind: "a cloud metadata service"),
        RefusedName(name: "instance-data.ec2.internal", subdomains: false, kind: "a cloud metadata service"),
    ]

    private static let refusedNetworks: [(network: AddressBlock, kind: String)] = [
        ("0.0.0.0/8", "unspecified (this host)"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "shared address space (RFC 6598, carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (RFC 3927; cloud metadata at 169.254.169.254)"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("198.18.0.0/15", "benchmarking (RFC 2544)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved or broadcast"),
        ("::/128", "unspecified (this host)"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
        ("100::/64", "discard-only (RFC 6666)"),
        ("fc00::/7", "unique local (RFC 4193)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    ].map { (AddressBlock($0.0)!, $0.1) }
}
