import Crypto
import Foundation
import Synchronization

/// Random, URL-safe identifiers with a type prefix so a stray id in a log says what it names.
public enum Identifier {
    /// `prefix_` + `bytes` random bytes in base64url. Not a secret: the bytes come from the pool.
    public static func make(_ prefix: String, bytes: Int = 12) -> String {
        prefix + "_" + RandomBytes.shared.take(bytes).base64URLEncoded()
    }

    /// A secret (API key, webhook signing secret, operator token): `count` bytes straight from the
    /// system CSPRNG (`SystemRandomNumberGenerator`: `getrandom(2)` on Linux, `arc4random_buf` on
    /// Darwin), as base64url without padding (RFC 4648 section 5: ceil(4 × count / 3) characters
    /// of `A–Z a–z 0–9 - _`). Never drawn from `RandomBytes`, whose pool holds the next ids' bytes
    /// in memory before they are used; a secret must not exist anywhere before it is made.
    package static func randomToken(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            withUnsafeBytes(of: generator.next() as UInt64) { word in
                for byte in word.prefix(count - filled) {
                    bytes[filled] = byte
                    filled += 1
                }
            }
        }
        defer { for index in bytes.indices { bytes[index] = 0 } }
        return bytes.base64URLEncoded()
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
/// For identifiers only; secrets come from `Identifier.randomToken`.
package final class RandomBytes: Sendable {
    package static let shared = RandomBytes()
    private let pool = Mutex((bytes: [UInt8](repeating: 0, count: 4096), used: 4096))

    /// The bytes the pool holds for the next ids, for the test that no secret is among them.
    package func unusedBytes() -> [UInt8] {
        pool.withLock { Array($0.bytes[$0.used...]) }
    }

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

extension String {
    /// SHA-256 of the UTF-8 bytes, hex; for high-entropy secrets (API keys) where a slow hash buys nothing.
    package var sha256Hex: String { SHA256.hash(data: Data(utf8)).hexString }
}
