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

    /// True when the signature is valid and made by one of `trustedKeys` (base64 raw Ed25519 public
    /// keys); with nil, any key whose signature is valid is accepted.
    func isAuthentic(trustedKeys: Set<String>?) -> Bool {
        if let trustedKeys, !trustedKeys.contains(publicKey) { return false }
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

    /// Signs the ledger's current tail with `key` and stores the checkpoint, even when an older
    /// checkpoint (by another key) already covers it: after a key rotation this is the first
    /// statement of the new key, continuing the chain of trust from the row the old key vouched for.
    ///
    /// The tail is the newest row (a periodic checkpoint); when retention left no rows, the newest
    /// compaction anchor is signed again (a compaction checkpoint at the same row and hash). Returns
    /// nil, storing nothing, when there is neither. Throws what GRDB throws.
    package static func signTail(_ db: Database, key: Curve25519.Signing.PrivateKey, at: Int64) throws -> Checkpoint? {
        let checkpoint: Checkpoint
        if let tail = try Row.fetchOne(db, sql: "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1") {
            checkpoint = try sign(kind: .periodic, seq: tail["seq"], hash: tail["hash"], at: at, key: key)
        } else if let anchor = try Row.fetchOne(
            db, sql: "SELECT seq, hash FROM ledger_checkpoints WHERE kind = 'compaction' ORDER BY seq DESC LIMIT 1")
        {
            checkpoint = try sign(kind: .compaction, seq: anchor["seq"], hash: anchor["hash"], at: at, key: key)
        } else {
            return nil
        }
        try checkpoint.insert(db)
        return checkpoint
    }

    /// The `limit` newest checkpoints, newest first (the operator console's verification page).
    /// Throws what GRDB throws.
    package static func latest(_ db: Database, limit: Int) throws -> [Checkpoint] {
        try fetchAll(db, sql: "SELECT * FROM ledger_checkpoints ORDER BY id DESC LIMIT ?", arguments: [limit])
    }

    func insert(_ db: Database) throws {
        try db.execute(
            sql:
                "INSERT INTO ledger_checkpoints (kind, seq, hash, at, public_key, signature) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [kind.rawValue, seq, hash, at, publicKey, signature])
    }
}
