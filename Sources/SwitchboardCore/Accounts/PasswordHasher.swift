import Crypto
import CryptoExtras
import Foundation

/// Memory-hard password hashing (scrypt), stored as `scrypt$N$r$p$salt$hash` so parameters can rise later.
public struct PasswordHasher: Sendable {
    /// log2 of scrypt's N: 15 costs 32 MiB and roughly 100 ms on one core.
    public var costLog2: Int
    public var blockSize = 8
    public var parallelism = 1

    public init(costLog2: Int = 15) {
        self.costLog2 = costLog2
    }

    public func hash(_ password: String) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let derived = try derive(
            password, salt: salt, costLog2: costLog2, blockSize: blockSize, parallelism: parallelism)
        return [
            "scrypt", String(costLog2), String(blockSize), String(parallelism), Data(salt).base64EncodedString(),
            derived.base64EncodedString(),
        ].joined(separator: "$")
    }

    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt",
            let cost = Int(parts[1]), let block = Int(parts[2]), let parallel = Int(parts[3]),
            let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]),
            let derived = try? derive(
                password, salt: Array(salt), costLog2: cost, blockSize: block, parallelism: parallel)
        else { return false }
        return constantTimeEquals(derived, expected)
    }

    private func derive(_ password: String, salt: [UInt8], costLog2: Int, blockSize: Int, parallelism: Int) throws
        -> Data
    {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << costLog2,
            blockSize: blockSize, parallelism: parallelism)
        return key.withUnsafeBytes { Data($0) }
    }
}

package func constantTimeEquals(_ lhs: Data, _ rhs: Data) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (a, b) in zip(lhs, rhs) { difference |= a ^ b }
    return difference == 0
}
