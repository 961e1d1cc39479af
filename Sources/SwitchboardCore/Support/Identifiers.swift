import Crypto
import Foundation
import Synchronization

/// Random, URL-safe identifiers with a type prefix so a stray id in a log says what it names.
public enum Identifier {
    public static func make(_ prefix: String, bytes: Int = 12) -> String {
        prefix + "_" + randomToken(bytes: bytes)
    }

    package static func randomToken(bytes: Int) -> String {
        RandomBytes.shared.take(bytes).base64URLEncoded()
    }

    /// An identifier whose text sorts by creation time (to the millisecond), then 72 random bits.
    ///
    /// For rows made at the message rate: SQLite keeps a UNIQUE index on the id, and random ids
    /// land on a random page of it, so every commit rewrote one index page per new row. Ids that
    /// follow the clock are appended to the index's last pages instead.
    public static func makeOrdered(_ prefix: String, at millis: Int64 = Int64(Date().timeIntervalSince1970 * 1000))
        -> String
    {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(15)
        for shift in stride(from: 40, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: millis >> Int64(shift)))
        }
        bytes += RandomBytes.shared.take(9)
        return prefix + "_" + bytes.base64Encoded(alphabet: sortableAlphabet)
    }

    /// The 64 URL-safe characters of base64url in ASCII order, so encoded bytes compare as the bytes do.
    package static let sortableAlphabet = Array("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz".utf8)
}

/// Kernel randomness (`/dev/urandom`) fetched 4 KiB at a time: every message and event gets an id, and
/// one system call per id showed up in profiles. The bytes are the kernel's, only handed out in parts.
final class RandomBytes: Sendable {
    static let shared = RandomBytes()
    private let pool = Mutex((bytes: [UInt8](repeating: 0, count: 4096), used: 4096))

    func take(_ count: Int) -> [UInt8] {
        pool.withLock { pool in
            var out: [UInt8] = []
            out.reserveCapacity(count)
            while out.count < count {
                if pool.used == pool.bytes.count {
                    Self.fill(&pool.bytes)
                    pool.used = 0
                }
                let n = min(count - out.count, pool.bytes.count - pool.used)
                out += pool.bytes[pool.used..<(pool.used + n)]
                // Handed-out bytes are not kept around.
                for index in pool.used..<(pool.used + n) { pool.bytes[index] = 0 }
                pool.used += n
            }
            return out
        }
    }

    private static let device = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    private static func fill(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            var filled = 0
            while filled < buffer.count {
                let got = read(device, buffer.baseAddress! + filled, buffer.count - filled)
                if got > 0 {
                    filled += got
                } else if got < 0 && errno == EINTR {
                    continue
                } else {
                    fatalError("cannot read /dev/urandom (errno \(errno)); identifiers cannot be made safely")
                }
            }
        }
    }
}

/// Encodings written out by hand: identifiers and digests are made on every request, and the
/// Foundation route (format strings, string replacement) cost more than the rest of the work.
extension Sequence where Element == UInt8 {
    /// Base64url (RFC 4648 section 5) without padding.
    package func base64URLEncoded() -> String {
        base64Encoded(alphabet: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8))
    }

    /// Base64 without padding over the given 64 characters.
    func base64Encoded(alphabet: [UInt8]) -> String {
        let bytes = Array(self)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 2 < bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out += [alphabet[Int(value >> 18)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)]]
            out.append(alphabet[Int(value & 63)])
            index += 3
        }
        if index < bytes.count {
            let second = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let value = UInt32(bytes[index]) << 16 | second << 8
            out += [alphabet[Int(value >> 18)], alphabet[Int(value >> 12 & 63)]]
            if index + 1 < bytes.count { out.append(alphabet[Int(value >> 6 & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lower-case hex.
    package var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    /// SHA-256 of the UTF-8 bytes, hex; for high-entropy secrets (API keys) where a slow hash buys nothing.
    package var sha256Hex: String { SHA256.hash(data: Data(utf8)).hexString }
}
