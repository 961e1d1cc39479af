import Crypto
import Foundation
import GRDB
import SwitchboardDaemon
import Testing

/// The audit commands that only read (`verify`, `query`, `export`, `key`) work on a copy of a data
/// directory nobody may write to, and leave it exactly as they found it. Through the real
/// `switchboard` executable.
///
/// The tests run as root, whom mode bits do not stop, so besides making the directory read-only
/// (0555 directories, 0444 files) they compare every path, size and modification time before and
/// after: a command that wrote anything (a secret, a migration, a `-wal` or `-shm` file) is caught
/// even where the kernel let it write.
@Suite(.serialized) struct ReadOnlyAuditTests {
    /// Each path under `root` (and `root` itself) with its type, size and modification time (ns).
    static func snapshot(_ root: URL) throws -> [String: String] {
        var entries: [String: String] = [:]
        var paths = [root.path]
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        while let relative = enumerator?.nextObject() as? String { paths.append(root.path + "/" + relative) }
        for path in paths {
            var info = stat()
            guard lstat(path, &info) == 0 else { throw TestFailure("cannot stat \(path)") }
            let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            entries[path] = "mode \(String(info.st_mode, radix: 8)) size \(info.st_size) mtime \(mtime)"
        }
        return entries
    }

    /// Makes every directory under `root` 0555 and every file 0444, as `chmod -R a-w` does.
    static func makeReadOnly(_ root: URL) throws {
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        var paths: [String] = []
        while let relative = enumerator?.nextObject() as? String { paths.append(root.path + "/" + relative) }
        for path in paths.reversed() + [root.path] {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            try FileManager.default.setAttributes(
                [.posixPermissions: isDirectory.boolValue ? 0o555 : 0o444], ofItemAtPath: path)
        }
    }

    /// A copy of a stopped daemon's data directory with ledger rows and signed checkpoints, made
    /// read-only, without the secrets a writing command would create first (the operator token, the
    /// digest and pseudonym keys). As the daemon left it, the copy has a write-ahead log (`-wal`,
    /// `-shm`) holding rows the database file lacks; with `foldLog`, or when `sql` is applied to
    /// it, the log is folded into the file first. Returns the copy and its account's id.
    static func readOnlyCopy(foldLog: Bool = false, tamper sql: String? = nil) async throws -> (
        directory: URL, accountID: String
    ) {
        let original = try await LedgerTests.ledgerWithShares(4)
        defer { try? FileManager.default.removeItem(at: original) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sb-readonly-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: original, to: directory)
        let database = directory.appendingPathComponent("switchboard.sqlite").path
        let accountID = try #require(
            try await DatabaseQueue(path: original.appendingPathComponent("switchboard.sqlite").path).read { db in
                try String.fetchOne(db, sql: "SELECT id FROM accounts")
            })
        if foldLog || sql != nil {
            let queue = try DatabaseQueue(path: database)
            if let sql { try await queue.write { db in try db.execute(sql: sql) } }
            // The copy's only connection folds the log into the file as it closes.
            try queue.close()
            #expect(!FileManager.default.fileExists(atPath: database + "-wal"))
        } else {
            #expect(FileManager.default.fileExists(atPath: database + "-wal"))
            #expect(FileManager.default.fileExists(atPath: database + "-shm"))
        }
        for secret in ["operator-token", "content-digest.key", "pseudonym.key"] {
            try FileManager.default.removeItem(at: directory.appendingPathComponent("secrets/\(secret)"))
        }
        try makeReadOnly(directory)
        return (directory, accountID)
    }

    static func cli(_ arguments: [String], _ directory: URL) async throws -> (status: Int32, output: String) {
        try await AddonFixture.run([DaemonProcess.executable.path] + arguments + ["--data-dir", directory.path])
    }

    @Test(arguments: [false, true])
    func theReadingAuditCommandsWorkOnAReadOnlyCopyAndChangeNothing(foldLog: Bool) async throws {
        let (directory, accountID) = try await Self.readOnlyCopy(foldLog: foldLog)
        defer { try? FileManager.default.removeItem(at: directory) }
        let before = try Self.snapshot(directory)

        let verify = try await Self.cli(["audit", "verify"], directory)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.hasPrefix("ledger intact: "), "\(verify.output)")
        #expect(verify.output.contains("1 signing key (1 current, 0 retired)"), "\(verify.output)")

        let query = try await Self.cli(["audit", "query", "--addon", "reporting", "--format", "ndjson"], directory)
        #expect(query.status == 0, "\(query.output)")
        #expect(query.output.contains(accountID), "\(query.output)")

        let export = try await Self.cli(["audit", "export", "--account", accountID], directory)
        #expect(export.status == 0, "\(export.output)")
        #expect(export.output.contains("com.switchboard.reporting"), "\(export.output)")

        let key = try await Self.cli(["audit", "key"], directory)
        #expect(key.status == 0, "\(key.output)")
        let stored = try Curve25519.Signing.PrivateKey(
            rawRepresentation: Data(contentsOf: directory.appendingPathComponent("secrets/ledger-ed25519.key")))
        #expect(key.output == stored.publicKey.rawRepresentation.base64EncodedString() + "\n")

        #expect(try Self.snapshot(directory) == before)
        #expect(
            !FileManager.default.fileExists(atPath: directory.appendingPathComponent("secrets/operator-token").path))
    }

    @Test func aTamperedReadOnlyCopyIsReportedBrokenWithTheDocumentedExitCode() async throws {
        let (directory, _) = try await Self.readOnlyCopy(
            tamper: "UPDATE ledger SET fields = 'usage.to:clear' WHERE seq = 3")
        defer { try? FileManager.default.removeItem(at: directory) }
        let before = try Self.snapshot(directory)
        let verify = try await Self.cli(["audit", "verify"], directory)
        #expect(verify.status == 1, "\(verify.output)")
        #expect(
            verify.output
                == "ledger BROKEN at sequence 3: row 3 was altered (its hash does not match its contents)\n",
            "\(verify.output)")
        #expect(try Self.snapshot(directory) == before)
    }

    /// Beside a signed ledger, a missing key is the error that stops `serve`, and no key is made.
    @Test func aMissingKeyBesideTheLedgerIsAnErrorAndNothingIsCreated() async throws {
        let (directory, _) = try await Self.readOnlyCopy()
        defer { try? FileManager.default.removeItem(at: directory) }
        let secrets = directory.appendingPathComponent("secrets")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: secrets.path)
        try FileManager.default.removeItem(at: secrets.appendingPathComponent("ledger-ed25519.key"))
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: secrets.path)
        let before = try Self.snapshot(directory)
        let verify = try await Self.cli(["audit", "verify"], directory)
        #expect(verify.status == 1, "\(verify.output)")
        #expect(!verify.output.contains("ledger intact"), "\(verify.output)")
        #expect(verify.output.contains("ledger-ed25519.key is missing"), "\(verify.output)")
        #expect(verify.output.contains("Restore ledger-ed25519.key from your backup"), "\(verify.output)")
        #expect(try Self.snapshot(directory) == before)
    }
}
