import Crypto
import Foundation
import GRDB
import SwitchboardAddons
import SwitchboardCore

/// A public key that signed ledger checkpoints before a rotation, kept so that `audit verify` still
/// accepts those checkpoints. One line of `secrets/ledger-public-keys`: the key, a space, a note.
public struct RetiredLedgerKey: Sendable, Equatable {
    /// The raw Ed25519 public key, base64 (as in a checkpoint's `public_key`).
    public var publicKey: String
    /// When and why it was retired, on one line.
    public var note: String

    init(publicKey: String, note: String) {
        self.publicKey = publicKey
        self.note = note.replacingOccurrences(of: "\n", with: " ")
    }

    /// Parses `<base64 key> <note>`; nil unless the key decodes to a 32-byte Ed25519 public key.
    init?(line: String) {
        let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard let first = parts.first, let raw = Data(base64Encoded: String(first)),
            (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
        else { return nil }
        publicKey = String(first)
        note = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
    }

    var line: String { note.isEmpty ? publicKey : "\(publicKey) \(note)" }
}

/// What `switchboard audit rotate-key` did: the ledger's signing key was replaced, the keys it
/// retires stay trusted for verification, and the new key signed the current tail.
///
/// **The old private key is deleted, not kept.** The new key file replaces it in one rename. Checking
/// old checkpoints needs only the public half, which is recorded in `secrets/ledger-public-keys`; a
/// retired private key left on disk could only be used to sign new checkpoints that `audit verify`
/// would accept as genuine. A backup taken before the rotation still holds it; destroy that copy
/// too if the rotation is because the key leaked.
public struct LedgerKeyRotation: Sendable {
    /// The new signing key's public half (base64); record it off the host, like `audit key`.
    public var newPublicKey: String
    /// The keys added to the trusted list by this rotation (none already there).
    public var retired: [RetiredLedgerKey]
    /// True when the old private key was not used: missing, or `--key-lost`.
    public var keyLost: Bool
    /// The checkpoint the new key signed at the current tail; nil when the ledger is empty.
    public var checkpoint: Checkpoint?
    /// Where the trusted retired keys are kept.
    public var publicKeysFile: String

    /// Rotates the ledger signing key of the data directory `config` names. Stop the daemon first:
    /// a running daemon keeps signing with the key it loaded at start until it is restarted.
    ///
    /// With the old key present (and `keyLost` false) its public half becomes trusted. When the key
    /// file is missing or empty, or `keyLost` is true, the old keys are taken from the stored
    /// checkpoints instead, each key that signed one becomes trusted, and the note says so. Such keys
    /// cannot be proven to be this host's; compare them with the public key you recorded (`audit
    /// key`) or with exported checkpoints.
    ///
    /// The ledger is verified first and nothing is changed when it is broken: the new key's
    /// checkpoint must not vouch for a tampered tail. Order of writes: the trusted list, then the new
    /// key file (replacing the old one), then the checkpoint; a crash in between leaves a state that
    /// verifies, and running the command again is harmless.
    ///
    /// - Throws: `LedgerKeyRotationError` when the key file is unusable without `keyLost`, when
    ///   checkpoints are signed by keys that are not trusted, or when the ledger is broken;
    ///   `ConfigurationError` when a file in `secrets/` cannot be read or written; GRDB's errors.
    public static func rotate(
        config: ServeConfiguration, keyLost: Bool, clock: any WallClock = SystemWallClock()
    ) async throws -> LedgerKeyRotation {
        let layout = try DataDirectory(path: config.dataDir)
        let pool = try SwitchboardDatabase.open(
            at: layout.databasePath, durability: config.durability, migrations: DaemonSchema.migrations)
        let alreadyTrusted = try layout.retiredLedgerKeys()
        let now = clock.now()
        let stamp = Timestamp.string(now.epochMillis) ?? "\(now)"
        let lost: Bool
        var retiring: [RetiredLedgerKey] = []
        switch (layout.storedLedgerKey(), keyLost) {
        case (.valid(let old), false):
            lost = false
            let publicKey = old.publicKey.rawRepresentation.base64EncodedString()
            retiring = [
                RetiredLedgerKey(
                    publicKey: publicKey,
                    note: "retired \(stamp) by `switchboard audit rotate-key`; its private key was deleted")
            ]
        case (.unusable(let reason), false):
            throw LedgerKeyRotationError(
                .keyUnusable,
                "\(layout.ledgerKeyURL.path) \(reason). Restore it from your backup of secrets/ and run rotate-key again, or, if it is truly lost, run `switchboard audit rotate-key --key-lost` to trust the public keys recorded in the checkpoints instead"
            )
        case (.absent, _), (_, true):
            lost = true
        }
        let trusted = Set(alreadyTrusted.map(\.publicKey)).union(retiring.map(\.publicKey))
        // Each key that signed a stored checkpoint: (key, checkpoints, first seq, last seq).
        let signers: [(publicKey: String, count: Int, first: Int64, last: Int64)] = try await pool.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT public_key, COUNT(*) AS count, MIN(seq) AS first, MAX(seq) AS last FROM ledger_checkpoints GROUP BY public_key ORDER BY MIN(id)"
            ).map { ($0["public_key"], $0["count"], $0["first"], $0["last"]) }
        }
        if lost {
            for (publicKey, count, first, last) in signers {
                guard !trusted.contains(publicKey), let key = RetiredLedgerKey(line: publicKey) else { continue }
                retiring.append(
                    RetiredLedgerKey(
                        publicKey: key.publicKey,
                        note:
                            "retired \(stamp) by `switchboard audit rotate-key` after the private key was lost; taken from \(count) stored checkpoint(s), sequences \(first) to \(last)"
                    ))
            }
        } else {
            let strangers = signers.map(\.publicKey).filter { !trusted.contains($0) }
            if !strangers.isEmpty {
                throw LedgerKeyRotationError(
                    .untrustedSigners,
                    "checkpoints in the database are signed by \(strangers.count) key(s) that are neither \(layout.ledgerKeyURL.path) nor listed in \(layout.retiredLedgerKeysURL.path): \(strangers.joined(separator: ", ")). If they are this host's earlier keys (for instance one replaced when its file went missing), run `switchboard audit rotate-key --key-lost` to trust every key found in the checkpoints; otherwise run `switchboard audit verify` and investigate before rotating"
                )
            }
        }
        let hostKey: String? = lost ? nil : retiring.first?.publicKey
        let previouslyRetired = Set(alreadyTrusted.map(\.publicKey))
        let outcome = try await pool.read { db in
            try LedgerVerifier.verify(db, external: [], hostKey: hostKey, retiredKeys: previouslyRetired)
        }
        if let failure = outcome.failure {
            throw LedgerKeyRotationError(
                .ledgerBroken,
                "the ledger is broken at sequence \(failure.seq): \(failure.reason). Nothing was changed: the new key would sign a checkpoint of this tail. Run `switchboard audit verify` (with --checkpoints for your exported copies) and investigate first"
            )
        }
        let newKey = Curve25519.Signing.PrivateKey()
        try layout.recordRetiredLedgerKeys(retiring)
        try layout.replaceSecret(at: layout.ledgerKeyURL, with: newKey.rawRepresentation)
        let checkpoint = try await pool.write { db in
            try Checkpoint.signTail(db, key: newKey, at: now.epochMillis)
        }
        if let checkpoint, let directory = config.ledger.exportDirectory {
            try LedgerMaintenance.write([checkpoint], to: directory)
        }
        return LedgerKeyRotation(
            newPublicKey: newKey.publicKey.rawRepresentation.base64EncodedString(),
            retired: retiring.filter { !previouslyRetired.contains($0.publicKey) }, keyLost: lost,
            checkpoint: checkpoint, publicKeysFile: layout.retiredLedgerKeysURL.path)
    }
}

/// Why `switchboard audit rotate-key` refused; nothing was changed. `message` says what to do.
public struct LedgerKeyRotationError: Error, CustomStringConvertible, Sendable {
    /// What went wrong; compare with the static members.
    public struct Code: Hashable, Sendable {
        private enum Value: Hashable, Sendable {
            case keyUnusable, untrustedSigners, ledgerBroken
        }
        private let value: Value

        /// The key file exists but cannot be read or is not a key, and `--key-lost` was not given.
        public static let keyUnusable = Code(value: .keyUnusable)
        /// Stored checkpoints are signed by keys that are neither the current one nor trusted.
        public static let untrustedSigners = Code(value: .untrustedSigners)
        /// The ledger fails verification; the new key must not vouch for it.
        public static let ledgerBroken = Code(value: .ledgerBroken)
    }

    public var code: Code
    public var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
