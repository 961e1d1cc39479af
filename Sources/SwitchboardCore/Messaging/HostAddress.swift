import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 address as its network-order bytes: 4 for IPv4, 16 for IPv6.
public struct HostAddress: Sendable, Hashable, CustomStringConvertible {
    /// Network-order bytes; `count` is 4 or 16.
    public let bytes: [UInt8]

    /// Nil unless `bytes` has 4 or 16 entries.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses a host as the system's resolver would read it without asking DNS, so that no spelling
    /// of an address slips past a check and then reaches the same address:
    /// - IPv6 in RFC 4291 text form, with or without URL brackets and with an RFC 6874 zone
    ///   (`[fe80::1%25eth0]`), which is dropped;
    /// - IPv4 in every form `inet_aton(3)` accepts, as `getaddrinfo(3)` does: `127.0.0.1`, `127.1`,
    ///   `2130706433`, `0x7f000001`, `0177.0.0.1`.
    ///
    /// Nil for anything else (a host name).
    public init?(literal text: String) {
        var host = text
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.contains(":") {
            if let zone = host.firstIndex(of: "%") { host = String(host[..<zone]) }
            var address = in6_addr()
            guard inet_pton(AF_INET6, host, &address) == 1 else { return nil }
            self.bytes = withUnsafeBytes(of: &address) { Array($0) }
            return
        }
        // inet_aton also takes "127.0.0.1 trailing words"; a host never has a space, so refuse one.
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X") })
        else { return nil }
        var address = in_addr()
        guard inet_aton(host, &address) != 0 else { return nil }
        self.bytes = withUnsafeBytes(of: &address) { Array($0) }
    }

    /// True for a 4-byte address.
    public var isIPv4: Bool { bytes.count == 4 }

    /// The IPv4 address an IPv6 address stands for where the IPv4 host is the one reached:
    /// IPv4-mapped `::ffff:a.b.c.d` (RFC 4291 section 2.5.5.2) and the deprecated IPv4-compatible
    /// `::a.b.c.d` (section 2.5.5.1). Nil for IPv4 addresses and other IPv6 addresses.
    public var mappedIPv4: HostAddress? {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }) else { return nil }
        let tail = Array(bytes[12..<16])
        if bytes[10] == 0xff, bytes[11] == 0xff { return HostAddress(bytes: tail) }
        // `::` and `::1` are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
        if bytes[10] == 0, bytes[11] == 0, tail[0] != 0 || tail[1] != 0 || tail[2] != 0 {
            return HostAddress(bytes: tail)
        }
        return nil
    }

    /// The IPv4 address a translation prefix leads to: NAT64 `64:ff9b::/96` (RFC 6052) and 6to4
    /// `2002::/16` (RFC 3056). A gateway forwards to that address, so it is checked like one.
    var translatedIPv4: HostAddress? {
        guard bytes.count == 16 else { return nil }
        let nat64: [UInt8] = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]
        if Array(bytes[0..<12]) == nat64 { return HostAddress(bytes: Array(bytes[12..<16])) }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return HostAddress(bytes: Array(bytes[2..<6])) }
        return nil
    }

    /// `inet_ntop(3)` text: `127.0.0.1`, `::1`.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = isIPv4 ? AF_INET : AF_INET6
        let text = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        guard text != nil else { return bytes.map(String.init).joined(separator: ".") }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A block of addresses in CIDR notation (RFC 4632), e.g. `10.0.0.0/8` or `fc00::/7`.
public struct AddressBlock: Sendable, Hashable, CustomStringConvertible {
    /// The block's first address (as written; bits past the prefix are ignored).
    public let address: HostAddress
    /// Leading bits that are fixed: 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    /// Parses `address/prefix`, or a bare address as the one-address block (`/32`, `/128`). Nil
    /// when the address is not a literal or the prefix is out of range.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = HostAddress(literal: String(parts[0])) else { return nil }
        let bits = address.bytes.count * 8
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), (0...bits).contains(prefix) else { return nil }
            self.prefixLength = prefix
        } else {
            self.prefixLength = bits
        }
        self.address = address
    }

    /// Whether `candidate` is in the block; an address of the other family never is.
    public func contains(_ candidate: HostAddress) -> Bool {
        guard candidate.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for index in 0..<address.bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if candidate.bytes[index] & mask != address.bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
