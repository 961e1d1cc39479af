import Crypto
import Foundation
import GRDB
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// The ledger signing key (`secrets/ledger-ed25519.key`): a daemon never replaces it silently beside
/// a ledger it signed, `audit rotate-key` replaces it on purpose, and `audit verify` trusts exactly the
/// current key and the retired ones. Through the real `switchboard` executable.
@Suite(.serialized) struct LedgerKeyTests {
    static func keyFile(_ directory: URL) -> URL { directory.appendingPathComponent("secrets/ledger-ed25519.key") }
    static func publicKeysFile(_ directory: URL) -> URL {
        directory.appendingPathComponent("secrets/ledger-public-keys")
    }

    /// A stopped daemon's data directory with ledger rows and at least one signed checkpoint.
    static func signedLedger() async throws -> URL {
        let directory = try await LedgerTests.ledgerWithShares(4)
        #expect(try checkpointKeys(directory).count == 1)
        return directory
    }

    /// The distinct public keys of the stored checkpoints.
    static func checkpointKeys(_ directory: URL) throws -> Set<String> {
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("switchboard.sqlite").path)
        return Set(try queue.read { db in try String.fetchAll(db, sql: "SELECT public_key FROM ledger_checkpoints") })
    }

    static func cli(_ arguments: [String], _ directory: URL) async throws -> (status: Int32, output: String) {
        try await AddonFixture.run([DaemonProcess.executable.path] + arguments + ["--data-dir", directory.path])
    }

    static func publicKey(_ directory: URL) async throws -> String {
        let key = try await cli(["audit", "key"], directory)
        #expect(key.status == 0, "\(key.output)")
        return key.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Adds shares through a daemon started on `directory` (with whatever key is there) and stops it,
    /// which signs a checkpoint of the new tail.
    static func addShares(_ directory: URL) async throws {
        let daemon = try await TestDaemon.start(directory: directory)
        let before = try await daemon.daemon.ledgerEntries(Ledger.Query()).count
        let (_, client) = try await daemon.signUp()
        _ = try await client.put("/v1/account/addons/reporting", json: ["categories": ["usage"]])
        _ = try await client.send()
        _ = try await eventually { try await daemon.daemon.ledgerEntries(Ledger.Query()).count >= before + 2 }
        await daemon.stop(removeData: false)
    }

    enum Damage: String, CaseIterable, Sendable {
        case deleted, emptied, truncated
        /// The key is deleted and so are the checkpoints: the ledger rows alone still need the key.
        case deletedWithoutCheckpoints
    }

    @Test(arguments: Damage.allCases)
    func aDamagedKeyBesideASignedLedgerStopsTheDaemon(damage: Damage) async throws {
        let directory = try await Self.signedLedger()
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = Self.keyFile(directory)
        switch damage {
        case .deleted: try FileManager.default.removeItem(at: key)
        case .emptied: try Data().write(to: key)
        case .truncated: try Data(try Data(contentsOf: key).prefix(16)).write(to: key)
        case .deletedWithoutCheckpoints:
            try FileManager.default.removeItem(at: key)
            try LedgerTests.tamper(directory, "DELETE FROM ledger_checkpoints")
        }
        let left = try? Data(contentsOf: key)
        let daemon = try DaemonProcess.serve(dataDir: directory, token: "op_ledger-key-tests-0123456789")
        defer { daemon.kill(SIGKILL) }
        let status = try await daemon.waitForExit()
        let output = daemon.errorOutput()
        #expect(status != 0)
        #expect(output.contains(key.path), "\(output)")
        #expect(output.contains("Restore ledger-ed25519.key from your backup"), "\(output)")
        #expect(output.contains(directory.appendingPathComponent("secrets").path), "\(output)")
        #expect(output.contains("switchboard audit rotate-key --key-lost"), "\(output)")
        // No new key took the old one's place.
        let now = try? Data(contentsOf: key)
        #expect(now == left)
    }

    @Test func aFreshDataDirectoryGeneratesItsKey() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let daemon = try DaemonProcess.serve(dataDir: directory, token: "op_ledger-key-tests-0123456789")
        defer { daemon.kill(SIGKILL) }
        try await daemon.waitUntilHealthy()
        daemon.kill(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
        let key = try Data(contentsOf: Self.keyFile(directory))
        #expect(key.count == 32)
        var info = stat()
        #expect(stat(Self.keyFile(directory).path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        // Its checkpoints are signed by that one key, and `verify` says so.
        try await Self.addShares(directory)
        #expect(try Data(contentsOf: Self.keyFile(directory)) == key)
        let verify = try await Self.cli(["audit", "verify"], directory)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("1 signing key (1 current, 0 retired)"), "\(verify.output)")
    }

    @Test func rotatingWithTheOldKeyKeepsItsCheckpointsVerifiable() async throws {
        let directory = try await Self.signedLedger()
        defer { try? FileManager.default.removeItem(at: directory) }
        let old = try await Self.publicKey(directory)
        let rotate = try await Self.cli(["audit", "rotate-key"], directory)
        #expect(rotate.status == 0, "\(rotate.output)")
        #expect(rotate.output.contains("old key  \(old)"), "\(rotate.output)")
        let new = try await Self.publicKey(directory)
        #expect(new != old)
        #expect(rotate.output.contains("new key  \(new)"))
        let trusted = try String(contentsOf: Self.publicKeysFile(directory), encoding: .utf8)
        #expect(trusted.contains("\(old) retired"))
        #expect(!trusted.contains(new))
        // The new key signed the tail at once, and goes on signing after a restart.
        #expect(try Self.checkpointKeys(directory) == [old, new])
        try await Self.addShares(directory)
        let verify = try await Self.cli(["audit", "verify"], directory)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("ledger intact"))
        #expect(verify.output.contains("2 signing keys (1 current, 1 retired)"), "\(verify.output)")
        // Exported copies of the old key's checkpoints verify too.
        let exported = directory.appendingPathComponent("offsite")
        #expect(try await Self.cli(["audit", "checkpoints", exported.path], directory).status == 0)
        #expect(try await Self.cli(["audit", "verify", "--checkpoints", exported.path], directory).status == 0)
    }

    enum Loss: String, CaseIterable, Sendable {
        /// The file is gone: `rotate-key` notices by itself.
        case deleted
        /// The file is there but is not a key: the operator says `--key-lost`.
        case corruptWithFlag
    }

    @Test(arguments: Loss.allCases)
    func rotatingAfterTheKeyWasLost(loss: Loss) async throws {
        let directory = try await Self.signedLedger()
        defer { try? FileManager.default.removeItem(at: directory) }
        let old = try #require(try Self.checkpointKeys(directory).first)
        var arguments = ["audit", "rotate-key"]
        switch loss {
        case .deleted:
            try FileManager.default.removeItem(at: Self.keyFile(directory))
        case .corruptWithFlag:
            try Data("not a key".utf8).write(to: Self.keyFile(directory))
            let refused = try await Self.cli(arguments, directory)
            #expect(refused.status != 0)
            #expect(refused.output.contains("--key-lost"), "\(refused.output)")
            arguments.append("--key-lost")
        }
        let rotate = try await Self.cli(arguments, directory)
        #expect(rotate.status == 0, "\(rotate.output)")
        #expect(rotate.output.contains("the old private key is lost"), "\(rotate.output)")
        let trusted = try String(contentsOf: Self.publicKeysFile(directory), encoding: .utf8)
        #expect(trusted.contains("\(old) retired"))
        #expect(trusted.contains("after the private key was lost"))
        let new = try await Self.publicKey(directory)
        #expect(try Self.checkpointKeys(directory) == [old, new])
        let verify = try await Self.cli(["audit", "verify"], directory)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("2 signing keys (1 current, 1 retired)"), "\(verify.output)")
        // And the daemon starts again.
        try await Self.addShares(directory)
        #expect(try await Self.cli(["audit", "verify"], directory).status == 0)
    }

    @Test func aCheckpointByAForeignKeyFailsVerificationDespiteRetiredKeys() async throws {
        let directory = try await Self.signedLedger()
        defer { try? FileManager.default.removeItem(at: directory) }
        let rotate = try await Self.cli(["audit", "rotate-key"], directory)
        #expect(rotate.status == 0, "\(rotate.output)")
        #expect(try await Self.cli(["audit", "verify"], directory).status == 0)
        // A well-formed checkpoint of the real tail, validly signed, but by a key this host never had.
        let foreign = Curve25519.Signing.PrivateKey()
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("switchboard.sqlite").path)
        try await queue.write { db in
            let tail = try #require(try Row.fetchOne(db, sql: "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1"))
            let seq: Int64 = tail["seq"]
            let hash: String = tail["hash"]
            let at = Int64(Date().timeIntervalSince1970 * 1000)
            let statement = Data("switchboard-ledger-checkpoint/1\nperiodic\n\(seq)\n\(hash)\n\(at)".utf8)
            try db.execute(
                sql:
                    "INSERT INTO ledger_checkpoints (kind, seq, hash, at, public_key, signature) VALUES ('periodic', ?, ?, ?, ?, ?)",
                arguments: [
                    seq, hash, at, foreign.publicKey.rawRepresentation.base64EncodedString(),
                    try foreign.signature(for: statement).base64EncodedString(),
                ])
        }
        let verify = try await Self.cli(["audit", "verify"], directory)
        #expect(verify.status == 1, "\(verify.output)")
        #expect(verify.output.contains("invalid signature or another key"), "\(verify.output)")
        // Rotating again does not launder it: the foreign key is neither current nor retired.
        let again = try await Self.cli(["audit", "rotate-key"], directory)
        #expect(again.status != 0)
        #expect(again.output.contains(foreign.publicKey.rawRepresentation.base64EncodedString()), "\(again.output)")
    }
}
