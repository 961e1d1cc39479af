import Crypto
import Foundation
import GRDB
import SwitchboardCore

/// A signed statement "the ledger up to row `seq` ends in `hash`". Periodic checkpoints let an
/// exported copy prove that rows were not removed from the tail; a compaction checkpoint anchors the
/// chain once old rows have been deleted by retention.
public struct Checkpoint: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case periodic
        case compaction
    }

    public var kind: Kind
    public var seq: Int64
    public var hash: String
    public var at: Int64
    /// The host's Ed25519 public key, base64.
    public var publicKey: String
    /// Ed25519 signature over `statement`, base64.
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case kind, seq, hash, at
        case publicKey = "public_key"
        case signature
    }

    static func statement(kind: Kind, seq: Int64, hash: String, at: Int64) -> Data {
        Data("switchboard-ledger-checkpoint/1\n\(kind.rawValue)\n\(seq)\n\(hash)\n\(at)".utf8)
    }

    static func sign(kind: Kind, seq: Int64, hash: String, at: Int64, key: Curve25519.Signing.PrivateKey) throws
        -> Checkpoint
    {
        let signature = try key.signature(for: statement(kind: kind, seq: seq, hash: hash, at: at))
        return Checkpoint(
            kind: kind, seq: seq, hash: hash, at: at, publicKey: key.publicKey.rawRepresentation.base64EncodedString(),
            signature: signature.base64EncodedString())
    }

    /// True when the signature is valid and made by `expectedKey` (base64), if given.
    func isAuthentic(expectedKey: String?) -> Bool {
        if let expectedKey, expectedKey != publicKey { return false }
        guard let keyData = Data(base64Encoded: publicKey), let signatureData = Data(base64Encoded: signature),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyData)
        else { return false }
        return key.isValidSignature(signatureData, for: Self.statement(kind: kind, seq: seq, hash: hash, at: at))
    }
}

extension Checkpoint: FetchableRecord {
    public init(row: Row) throws {
        kind = Kind(rawValue: row["kind"]) ?? .periodic
        seq = row["seq"]
        hash = row["hash"]
        at = row["at"]
        publicKey = row["public_key"]
        signature = row["signature"]
    }

    func insert(_ db: Database) throws {
        try db.execute(
            sql:
                "INSERT INTO ledger_checkpoints (kind, seq, hash, at, public_key, signature) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [kind.rawValue, seq, hash, at, publicKey, signature])
    }
}
