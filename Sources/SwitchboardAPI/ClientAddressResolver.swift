import Foundation
import Hummingbird
import SwitchboardCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IP network in CIDR notation: `10.0.0.0/8`, `2001:db8::/32`, or one address (`192.0.2.7`,
/// meaning /32 or /128). RFC 4632 section 3.1 (IPv4) and RFC 4291 section 2.3 (IPv6).
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    /// The network's address, masked to `prefixLength`: 4 bytes (IPv4) or 16 (IPv6).
    let bytes: [UInt8]
    let prefixLength: Int

    /// Nil when `cidr` is not an address with an optional `/prefix` in range (0–32 for IPv4,
    /// 0–128 for IPv6).
    public init?(cidr: String) {
        let parts = cidr.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = IPAddress.bytes(String(parts[0])) else {
            return nil
        }
        let bits = address.count * 8
        var length = bits
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...bits).contains(given) else { return nil }
            length = given
        }
        bytes = IPAddress.masked(address, to: length)
        prefixLength = length
    }

    /// Whether `address` (4 or 16 bytes) lies in this network; an IPv4 address never lies in an
    /// IPv6 network or the other way round (IPv4-mapped IPv6 is read as IPv4 before this).
    func contains(_ address: [UInt8]) -> Bool {
        address.count == bytes.count && IPAddress.masked(address, to: prefixLength) == bytes
    }

    public var description: String { "\(IPAddress.text(bytes))/\(prefixLength)" }
}

/// Which address a request comes from, for throttling and for the sign-in record.
///
/// **`X-Forwarded-For` is believed only from a trusted proxy.** When the TCP peer is in
/// `trustedProxies`, the header's entries are read right to left, skipping trusted proxies, and the
/// first address that is not one is the client: the right-most entries were written by proxies we
/// trust, anything left of the first untrusted one may be the client's own invention. When the peer
/// is not a trusted proxy, the header is ignored, so a client cannot pick the address it is
/// throttled under. An entry that is not an IP address ends the walk at the proxy that wrote it.
public struct ClientAddressResolver: Sendable {
    public let trustedProxies: [IPNetwork]

    public init(trustedProxies: [IPNetwork] = []) {
        self.trustedProxies = trustedProxies
    }

    /// The client's address for this request (the peer, or what trusted proxies say), or `unknown`
    /// without a peer (a request made in-process).
    func clientAddress(of request: Request, context: AppContext) -> String {
        clientAddress(peer: context.remoteAddress, forwardedFor: request.headers[values: .init("X-Forwarded-For")!])
    }

    /// The client's address given the TCP peer and every `X-Forwarded-For` field value in order.
    public func clientAddress(peer: String?, forwardedFor: [String]) -> String {
        guard let peer, let peerBytes = IPAddress.bytes(peer) else { return peer ?? "unknown" }
        var client = IPAddress.text(peerBytes)
        guard isTrusted(peerBytes) else { return client }
        let entries = forwardedFor.flatMap { $0.split(separator: ",") }.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        for entry in entries.reversed() {
            guard let bytes = IPAddress.bytes(IPAddress.strippingPort(entry)) else { break }
            client = IPAddress.text(bytes)
            if !isTrusted(bytes) { break }
        }
        return client
    }

    /// The key a client address is throttled under: the address itself for IPv4, its /64 for IPv6,
    /// as one subscriber commonly holds a whole /64 (RFC 6177) and could otherwise rotate addresses
    /// within it to escape the limit.
    public func throttleKey(for address: String) -> AuthThrottle.Key {
        .address(subscriber(of: address))
    }

    /// The key a client address's sign-ups are counted under (by /64 for IPv6, as above).
    public func signUpKey(for address: String) -> AuthThrottle.Key {
        .signUps(from: subscriber(of: address))
    }

    private func subscriber(of address: String) -> String {
        guard let bytes = IPAddress.bytes(address), bytes.count == 16 else { return address }
        return "\(IPAddress.text(IPAddress.masked(bytes, to: 64)))/64"
    }

    private func isTrusted(_ bytes: [UInt8]) -> Bool {
        trustedProxies.contains { $0.contains(bytes) }
    }
}

/// IP address text to bytes and back, by the C library's `inet_pton`/`inet_ntop` (RFC 4291 section 2.2
/// forms for IPv6); an IPv4-mapped IPv6 address (`::ffff:192.0.2.7`) is read as the IPv4 address.
enum IPAddress {
    static func bytes(_ text: String) -> [UInt8]? {
        var text = text
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let zone = text.firstIndex(of: "%") { text = String(text[..<zone]) }
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        if v6[0..<10].allSatisfy({ $0 == 0 }) && v6[10] == 0xFF && v6[11] == 0xFF { return Array(v6[12...]) }
        return v6
    }

    static func text(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, bytes, &buffer, socklen_t(buffer.count)) != nil else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func masked(_ bytes: [UInt8], to prefixLength: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = min(8, max(0, prefixLength - index * 8))
            return keep == 8 ? byte : byte & ~(0xFF >> keep)
        }
    }

    /// `192.0.2.7:5678` → `192.0.2.7`, `[2001:db8::1]:443` → `2001:db8::1`; anything else unchanged.
    static func strippingPort(_ entry: String) -> String {
        if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
            return String(entry[entry.index(after: entry.startIndex)..<close])
        }
        let colons = entry.filter { $0 == ":" }.count
        if colons == 1, let colon = entry.firstIndex(of: ":") { return String(entry[..<colon]) }
        return entry
    }
}
