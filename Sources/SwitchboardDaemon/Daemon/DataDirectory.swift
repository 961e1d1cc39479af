import Crypto
import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore

/// The files of one daemon: the database and the secrets generated on first start.
struct DataDirectory {
    let root: URL

    init(path: String) throws {
        root = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        do {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("secrets"), withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw ConfigurationError(
                source: "data_dir",
                problems: [
                    FieldError(
                        "data_dir",
                        "\(root.path) cannot be created (\(error.localizedDescription)); choose a writable directory with --data-dir"
                    )
                ])
        }
    }

    var databasePath: String { root.appendingPathComponent("switchboard.sqlite").path }

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

    /// The Ed25519 key that signs ledger checkpoints.
    func ledgerSigningKey() throws -> Curve25519.Signing.PrivateKey {
        let raw = try secret(named: "ledger-ed25519.key") { Curve25519.Signing.PrivateKey().rawRepresentation }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
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
