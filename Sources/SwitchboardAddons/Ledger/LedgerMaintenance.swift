import Crypto
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import SwitchboardCore

/// Settings of the share ledger.
public struct LedgerSettings: Sendable, Equatable {
    /// Rows older than this are compacted into a signed checkpoint (the chain still verifies).
    public var retentionDays = 400
    /// How often a signed checkpoint of the tail is taken (when the ledger grew).
    public var checkpointIntervalSeconds = 60
    /// When set, every checkpoint is also written there as a file, to be kept off the host.
    public var exportDirectory: String?

    public init() {}
}

/// Takes signed checkpoints of the ledger and compacts rows past their retention.
public final class LedgerMaintenance: Service {
    let writer: GroupCommitWriter
    let key: Curve25519.Signing.PrivateKey
    let settings: LedgerSettings
    let clock: any WallClock
    let logger: Logger

    package init(
        writer: GroupCommitWriter, key: Curve25519.Signing.PrivateKey, settings: LedgerSettings, clock: any WallClock,
        logger: Logger
    ) {
        self.writer = writer
        self.key = key
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    public var publicKey: String { key.publicKey.rawRepresentation.base64EncodedString() }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.compact()
                    try await self.checkpoint()
                } catch {
                    self.logger.error("ledger maintenance failed; will retry", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(self.settings.checkpointIntervalSeconds))
            }
        }
        // A last checkpoint on the way out covers everything written before shutdown.
        _ = try? await checkpoint()
    }

    /// Signs the current tail unless the newest checkpoint already covers it; returns it if taken.
    @discardableResult
    public func checkpoint() async throws -> Checkpoint? {
        let key = self.key
        let at = clock.now().epochMillis
        let taken: Checkpoint? = try await writer.write { db in
            guard let tail = try Row.fetchOne(db, sql: "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1") else {
                return nil
            }
            let seq: Int64 = tail["seq"]
            let covered =
                try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ledger_checkpoints WHERE kind = 'periodic'") ?? 0
            guard seq > covered else { return nil }
            let checkpoint = try Checkpoint.sign(kind: .periodic, seq: seq, hash: tail["hash"], at: at, key: key)
            try checkpoint.insert(db)
            return checkpoint
        }
        if let taken { try export(taken) }
        return taken
    }

    /// Deletes rows older than the retention period, anchoring the chain in a signed checkpoint of
    /// the last deleted row, so `audit verify` still passes afterwards.
    @discardableResult
    public func compact() async throws -> Int {
        let cutoff = clock.now().addingTimeInterval(-Double(settings.retentionDays) * 86_400).epochMillis
        let key = self.key
        let at = clock.now().epochMillis
        let (removed, anchor): (Int, Checkpoint?) = try await writer.write { db in
            guard
                let last = try Row.fetchOne(
                    db, sql: "SELECT seq, hash FROM ledger WHERE at < ? ORDER BY seq DESC LIMIT 1", arguments: [cutoff])
            else { return (0, nil) }
            let seq: Int64 = last["seq"]
            let anchor = try Checkpoint.sign(kind: .compaction, seq: seq, hash: last["hash"], at: at, key: key)
            try anchor.insert(db)
            try db.execute(sql: "DELETE FROM ledger WHERE seq <= ?", arguments: [seq])
            let removed = db.changesCount
            try db.execute(sql: "DELETE FROM ledger_checkpoints WHERE kind = 'periodic' AND seq <= ?", arguments: [seq])
            return (removed, anchor)
        }
        if let anchor {
            try export(anchor)
            logger.info("ledger compacted", metadata: ["rows": "\(removed)", "anchor_seq": "\(anchor.seq)"])
        }
        return removed
    }

    private func export(_ checkpoint: Checkpoint) throws {
        guard let directory = settings.exportDirectory else { return }
        try Self.write([checkpoint], to: directory)
    }

    /// Writes checkpoints as `checkpoint-<seq>-<kind>.json` files.
    public static func write(_ checkpoints: [Checkpoint], to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        for checkpoint in checkpoints {
            let name = String(format: "checkpoint-%012lld-%@.json", checkpoint.seq, checkpoint.kind.rawValue)
            try encoder.encode(checkpoint).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
        }
    }
}
