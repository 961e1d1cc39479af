import Crypto
import Foundation
import GRDB
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore

/// The files of one daemon: the database and the secrets generated on first start.
package struct DataDirectory {
    let root: URL

    init(path: String) throws {
        root = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        do {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("secrets"), withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            var isDirectory: ObjCBool = false
            let reason =
                FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory) && !isDirectory.boolValue
                ? "is a file, not a directory" : "cannot be created (\(error.localizedDescription))"
            throw ConfigurationError(
                source: "data_dir",
                problems: [
                    FieldError("data_dir", "\(root.path) \(reason); choose a writable directory with --data-dir")
                ])
        }
    }

    /// A data directory to read: nothing is created, not even `secrets/`, so the audit commands
    /// work on a read-only copy. Whether it exists is for the reader to find out.
    init(readingAt path: String) {
        root = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    }

    var databasePath: String { root.appendingPathComponent("switchboard.sqlite").path }

    /// What a command that reads a data directory reports when it holds no database: most often a
    /// mistyped `--data-dir`, whose answer would otherwise read as "nothing there".
    static func noDatabase(at path: String) -> ConfigurationError {
        ConfigurationError(
            source: "data_dir",
            problems: [
                FieldError(
                    "data_dir",
                    "\(path) does not exist; pass the data directory of `switchboard serve` with --data-dir (serve creates the database on its first start)"
                )
            ])
    }

    /// Throws `noDatabase` unless the data directory at `path` holds a database; creates nothing.
    package static func requireDatabase(dataDir path: String) throws {
        let database = DataDirectory(readingAt: path).databasePath
        guard FileManager.default.fileExists(atPath: database) else { throw noDatabase(at: database) }
    }

    /// The operator token from `secrets/operator-token`, generated on first start.
    func operatorToken() throws -> String {
        let data = try secret(named: "operator-token") { Data(("op_" + Identifier.randomToken(bytes: 32)).utf8) }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    var operatorTokenPath: String { root.appendingPathComponent("secrets/operator-token").path }

    /// The key for body digests of accounts in `hash` content mode.
    func contentDigestKey() throws -> SymmetricKey {
        SymmetricKey(
            data: try secret(named: "content-digest.key") { SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) } })
    }

    /// The master key of add-on pseudonyms; per (add-on, account) keys are derived from it.
    func pseudonymKey() throws -> SymmetricKey {
        SymmetricKey(
            data: try secret(named: "pseudonym.key") { SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) } })
    }

    /// `secrets/ledger-ed25519.key`: the raw 32-byte Ed25519 private key that signs ledger checkpoints.
    var ledgerKeyURL: URL { root.appendingPathComponent("secrets/ledger-ed25519.key") }

    /// `secrets/ledger-public-keys`: the retired public keys whose checkpoints `audit verify` still
    /// accepts, written by `switchboard audit rotate-key`.
    var retiredLedgerKeysURL: URL { root.appendingPathComponent("secrets/ledger-public-keys") }

    /// What `secrets/ledger-ed25519.key` holds.
    enum StoredLedgerKey {
        /// No file, or an empty one; `reason` says which ("is missing", "is empty").
        case absent(reason: String)
        /// A file that cannot be used as the key; `reason` says why.
        case unusable(reason: String)
        case valid(Curve25519.Signing.PrivateKey)
    }

    func storedLedgerKey() -> StoredLedgerKey {
        let url = ledgerKeyURL
        guard FileManager.default.fileExists(atPath: url.path) else { return .absent(reason: "is missing") }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            return .unusable(reason: "cannot be read (\(error.localizedDescription))")
        }
        if data.isEmpty { return .absent(reason: "is empty") }
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: data) else {
            return .unusable(reason: "holds \(data.count) bytes, not a raw 32-byte Ed25519 private key")
        }
        return .valid(key)
    }

    /// The Ed25519 key that signs ledger checkpoints; generated only on a data directory whose
    /// ledger is still empty (no rows, no checkpoints).
    ///
    /// Throws `ConfigurationError` naming the file when it is missing, empty, unreadable or not a
    /// 32-byte key while `database` already holds ledger rows or checkpoints. A new key there would
    /// make every existing checkpoint fail `switchboard audit verify`, so the operator restores the
    /// file from backup, or runs `switchboard audit rotate-key --key-lost` when it is truly lost.
    /// An unreadable or malformed file is never overwritten, not even beside an empty ledger.
    func ledgerSigningKey(database: some DatabaseReader) throws -> Curve25519.Signing.PrivateKey {
        let reason: String
        let replaceable: Bool
        switch storedLedgerKey() {
        case .valid(let key):
            return key
        case .absent(let why):
            (reason, replaceable) = (why, true)
        case .unusable(let why):
            (reason, replaceable) = (why, false)
        }
        let (rows, checkpoints) = try ledgerSize(database)
        guard rows == 0, checkpoints == 0 else {
            throw keyNeeded(reason, rows: rows, checkpoints: checkpoints)
        }
        guard replaceable else { throw unusableKeyBesideEmptyLedger(reason) }
        let key = Curve25519.Signing.PrivateKey()
        try replaceSecret(at: ledgerKeyURL, with: key.rawRepresentation)
        return key
    }

    /// The public half (base64) of the key that signs ledger checkpoints, read without writing
    /// anything: nil when the key file is missing or empty beside an empty ledger, where `serve`
    /// would generate one. Throws the errors `ledgerSigningKey(database:)` throws in the same cases
    /// (the key is needed beside a ledger, or the file is unusable), and what GRDB throws.
    func ledgerPublicKey(database: some DatabaseReader) throws -> String? {
        let reason: String
        let replaceable: Bool
        switch storedLedgerKey() {
        case .valid(let key): return key.publicKey.rawRepresentation.base64EncodedString()
        case .absent(let why): (reason, replaceable) = (why, true)
        case .unusable(let why): (reason, replaceable) = (why, false)
        }
        let (rows, checkpoints) = try ledgerSize(database)
        guard rows == 0, checkpoints == 0 else { throw keyNeeded(reason, rows: rows, checkpoints: checkpoints) }
        guard replaceable else { throw unusableKeyBesideEmptyLedger(reason) }
        return nil
    }

    /// How many ledger rows and signed checkpoints `database` holds.
    private func ledgerSize(_ database: some DatabaseReader) throws -> (rows: Int, checkpoints: Int) {
        try database.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger") ?? 0,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger_checkpoints") ?? 0
            )
        }
    }

    /// The key file is missing or unusable beside a ledger that needs it.
    private func keyNeeded(_ reason: String, rows: Int, checkpoints: Int) -> ConfigurationError {
        let path = ledgerKeyURL.path
        return ConfigurationError(
            source: path,
            problems: [
                FieldError(
                    "secrets/ledger-ed25519.key",
                    "\(path) \(reason), but the ledger in \(databasePath) already holds \(rows) row(s) and \(checkpoints) signed checkpoint(s); a new key would make every checkpoint signed so far, stored or exported, fail `switchboard audit verify`, so the daemon does not start. Restore ledger-ed25519.key from your backup of \(root.appendingPathComponent("secrets").path)/ (mode 0600) and start again. Only if the key is truly lost, run `switchboard audit rotate-key --key-lost --data-dir \(root.path)`: it keeps the public keys recorded in the checkpoints as trusted and starts a new key"
                )
            ])
    }

    /// The key file is there but unusable; the ledger is empty, so it can simply be removed.
    private func unusableKeyBesideEmptyLedger(_ reason: String) -> ConfigurationError {
        let path = ledgerKeyURL.path
        return ConfigurationError(
            source: path,
            problems: [
                FieldError(
                    "secrets/ledger-ed25519.key",
                    "\(path) \(reason). The ledger is still empty, so nothing depends on this file: remove it, and the next start generates a new key"
                )
            ])
    }

    /// The retired public keys recorded in `secrets/ledger-public-keys`, oldest first; empty when
    /// there is no such file. Throws `ConfigurationError` naming the file and line when a line is not
    /// a base64 32-byte Ed25519 public key followed by its note (fix or remove that line; removing a
    /// key makes the checkpoints it signed fail verification).
    func retiredLedgerKeys() throws -> [RetiredLedgerKey] {
        let url = retiredLedgerKeysURL
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                source: url.path,
                problems: [
                    FieldError(
                        "secrets/ledger-public-keys",
                        "\(url.path) cannot be read (\(error.localizedDescription)); restore it from your backup of secrets/"
                    )
                ])
        }
        var keys: [RetiredLedgerKey] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let key = RetiredLedgerKey(line: trimmed) else {
                throw ConfigurationError(
                    source: url.path,
                    problems: [
                        FieldError(
                            "secrets/ledger-public-keys",
                            "line \(index + 1) of \(url.path) is not a base64 Ed25519 public key (32 bytes) followed by a note; fix it from your backup of secrets/"
                        )
                    ])
            }
            keys.append(key)
        }
        return keys
    }

    /// Appends `keys` to `secrets/ledger-public-keys` (created with an explanatory header), skipping
    /// keys already there. The file is rewritten whole through `replaceSecret`, so a crash never
    /// leaves a torn line. Throws `ConfigurationError` when it cannot be read or written.
    func recordRetiredLedgerKeys(_ keys: [RetiredLedgerKey]) throws {
        let known = Set(try retiredLedgerKeys().map(\.publicKey))
        let fresh = keys.filter { !known.contains($0.publicKey) }
        guard !fresh.isEmpty else { return }
        var text =
            (try? String(contentsOf: retiredLedgerKeysURL, encoding: .utf8))
                ?? """
                # Retired ledger signing keys: one Ed25519 public key (base64) per line, then a note.
                # `switchboard audit verify` accepts checkpoints signed by these as well as by ledger-ed25519.key.
                # Written by `switchboard audit rotate-key`; keep it with the backup of secrets/. Removing a
                # line makes every checkpoint that key signed fail verification.

                """
        if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
        for key in fresh { text += key.line + "\n" }
        try replaceSecret(at: retiredLedgerKeysURL, with: Data(text.utf8))
    }

    /// Writes a secret with mode 0600 through a temporary file, fsync and rename, so a crash leaves
    /// either the old file or the new one whole, never a half-written key. Throws
    /// `ConfigurationError` naming the file when the directory is not writable.
    func replaceSecret(at url: URL, with data: Data) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        func cannotWrite(_ detail: String) -> ConfigurationError {
            ConfigurationError(
                source: "data_dir",
                problems: [FieldError("data_dir", "cannot write \(url.path) (\(detail)); check permissions")])
        }
        guard
            FileManager.default.createFile(
                atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
        else { throw cannotWrite("cannot create \(temporary.path)") }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw cannotWrite(error.localizedDescription)
        }
        guard rename(temporary.path, url.path) == 0 else {
            let detail = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw cannotWrite(detail)
        }
        // The rename is durable once the directory entry is.
        let descriptor = open(directory.path, O_RDONLY)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            _ = close(descriptor)
        }
    }

    private func secret(named name: String, generate: () -> Data) throws -> Data {
        let url = root.appendingPathComponent("secrets").appendingPathComponent(name)
        if let existing = try? Data(contentsOf: url), !existing.isEmpty { return existing }
        let fresh = generate()
        guard FileManager.default.createFile(atPath: url.path, contents: fresh, attributes: [.posixPermissions: 0o600])
        else {
            throw ConfigurationError(
                source: "data_dir", problems: [FieldError("data_dir", "cannot write \(url.path); check permissions")])
        }
        return fresh
    }
}
