import Foundation

/// The country of an IP address, from a file the operator provides (`console.countries_file`), for
/// the console's rule that a sign-in from a new country asks a second factor.
///
/// Each line is `network,country` (`192.0.2.0/24,EE`) or `first,last,country`
/// (`192.0.2.0,192.0.2.255,EE`, the layout of DB-IP's free "IP to Country Lite" CSV); the country is
/// an ISO 3166-1 alpha-2 code. Lines starting with `#` and blank lines are skipped. An address no
/// line covers, or every address when there is no file, has the country `--` (unknown), which is
/// compared like any other: a browser that signed in from `--` is asked again from `EE`.
public struct CountryLookup: Sendable {
    /// Ranges sorted by their first address; IPv4 as IPv4-mapped IPv6 so both sort together.
    private let ranges: [(first: UInt128, last: UInt128, country: String)]

    /// The code for an address no range covers.
    public static let unknown = "--"

    /// No file: every address is `--`.
    public init() { ranges = [] }

    /// Reads a file in either layout.
    /// - Throws: ``LookupError`` naming the file, the line and what is wrong with it.
    public init(contentsOf path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LookupError(message: "console.countries_file: cannot read \(path) (\(error.localizedDescription))")
        }
        try self.init(text: text, source: path)
    }

    /// Reads the file's text; `source` names it in errors.
    package init(text: String, source: String) throws {
        var ranges: [(UInt128, UInt128, String)] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let columns = line.split(separator: ",").map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: " \""))
            }
            func fail(_ why: String) -> LookupError {
                LookupError(
                    message:
                        "console.countries_file: \(source) line \(index + 1): \(why); expected `network,CC` or `first,last,CC` with an ISO 3166-1 alpha-2 code"
                )
            }
            guard columns.count == 2 || columns.count == 3 else { throw fail("\(columns.count) columns") }
            let country = columns[columns.count - 1].uppercased()
            guard country.count == 2, country.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw fail("\"\(country)\" is not a two-letter country code")
            }
            if columns.count == 2 {
                guard let network = IPNetwork(cidr: columns[0]) else {
                    throw fail("\"\(columns[0])\" is not a network")
                }
                let first = Self.number(network.bytes)
                let hostBits = network.bytes.count * 8 - network.prefixLength
                let span: UInt128 = hostBits >= 128 ? .max : (UInt128(1) << hostBits) - 1
                ranges.append((first, first | span, country))
            } else {
                guard let first = IPAddress.bytes(columns[0]), let last = IPAddress.bytes(columns[1]),
                    first.count == last.count, Self.number(first) <= Self.number(last)
                else { throw fail("\"\(columns[0])\" to \"\(columns[1])\" is not a range of addresses") }
                ranges.append((Self.number(first), Self.number(last), country))
            }
        }
        self.ranges = ranges.sorted { $0.0 < $1.0 }.map { (first: $0.0, last: $0.1, country: $0.2) }
    }

    /// The country code of `address` (text), or `--`.
    public func country(of address: String?) -> String {
        guard let address, !ranges.isEmpty, let bytes = IPAddress.bytes(address) else { return Self.unknown }
        let value = Self.number(bytes)
        // The last range starting at or before the address.
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].first <= value { low = middle + 1 } else { high = middle }
        }
        guard low > 0, ranges[low - 1].last >= value else { return Self.unknown }
        return ranges[low - 1].country
    }

    /// 4 bytes as IPv4-mapped (`::ffff:a.b.c.d`, RFC 4291 section 2.5.5.2), 16 as they are.
    private static func number(_ bytes: [UInt8]) -> UInt128 {
        var value: UInt128 = bytes.count == 4 ? 0xffff : 0
        for byte in bytes { value = (value << 8) | UInt128(byte) }
        return value
    }

    /// A file that cannot be used, with the line and the fix.
    public struct LookupError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
