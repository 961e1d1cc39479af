import Foundation
import GRDB
import ServiceLifecycle

/// Parts of long messages that arrived over SMPP and wait for the rest (`smpp_partials`).
///
/// A part is acknowledged (`submit_sm_resp`, `deliver_sm_resp`) as soon as it is kept here, so it
/// must outlive a restart: the sender will not send it again. Parts belong together when they share
/// the scope (the customer's account, or the SMSC account they came from), the numbers, and the
/// concatenation reference and total (3GPP TS 23.040 §9.2.3.24.1 and §9.2.3.24.8; SAR TLVs carry
/// the same, SMPP 3.4 §5.3.2.22–24). The last part claims the message (`add` answers `.whole`);
/// one that could not be stored yet is released (`release`) and completes again when the last part
/// is sent again, one refused for good is forgotten (`forget`). A stored message's parts stay,
/// marked completed, for `keepSeconds`, so that a part of it sent again is taken once rather than
/// starting a second copy. A part with other text under a completed message's key starts a new
/// message (the sender reused the reference), which takes the earlier parts that came again within
/// `echoSeconds` before it: a new message whose first parts repeat the old one's (a template) is
/// assembled whole rather than waiting for parts already taken. Parts of a message that never
/// completes go after `keepSeconds` too. They
/// hold Customer Content, and an account's erasure deletes its parts at once.
///
/// A part is kept as its user data (data_coding and octets or septets), not as text: a sender may
/// split a character between two parts (a UTF-16 surrogate pair, a GSM 03.38 escape and its
/// extension character), which only the joined user data reads whole.
public struct SMPPPartials: Service {
    /// What the parts of one message share.
    public struct Key: Sendable, Hashable {
        /// `account:<id>` for a customer's submit_sm, `smsc:<host>:<port>:<system_id>` for an SMSC's deliver_sm.
        public var scope: String
        public var source: String
        public var destination: String
        public var reference: Int
        /// Parts in the message, 2–255.
        public var total: Int

        public init(scope: String, source: String, destination: String, reference: Int, total: Int) {
            self.scope = scope
            self.source = source
            self.destination = destination
            self.reference = reference
            self.total = total
        }

        /// The scope of a customer account's parts (erased with the account).
        public static func account(_ accountID: String) -> String { "account:\(accountID)" }
    }

    let writer: GroupCommitWriter
    let clock: any WallClock
    let keepSeconds: Int

    /// How recently a completed message's part must have come again to be taken as a part of the
    /// next message under its reference (s). The parts of one message come seconds apart; a copy
    /// resent after a lost response that is followed by a reused reference within this time is
    /// the rare case it cannot tell apart.
    static let echoSeconds = 30

    /// - Parameter keepSeconds: how long the parts of a message that never completes are kept.
    package init(writer: GroupCommitWriter, clock: any WallClock, keepSeconds: Int = 600) {
        self.writer = writer
        self.clock = clock
        self.keepSeconds = keepSeconds
    }

    /// One part's user data: data_coding (SMPP 3.4 §5.2.19) and what followed the user data
    /// header, septets one an octet for data_coding 0, else octets.
    public struct Part: Sendable, Equatable {
        public var dataCoding: UInt8
        public var content: [UInt8]

        public init(dataCoding: UInt8, content: [UInt8]) {
            self.dataCoding = dataCoding
            self.content = content
        }

        /// A part kept as text (before parts were kept as user data), as the UCS-2 octets of that
        /// text (data_coding 8), which read back exactly.
        static func ucs2(_ text: String) -> Part {
            Part(dataCoding: 8, content: text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
        }
    }

    /// A part whose place is held by a different text of the same message key: the sender reused
    /// a concatenation reference while an earlier message under it still waits for parts.
    public struct PartHeld: Error, Equatable, CustomStringConvertible {
        public let sequence: Int
        public let reference: Int
        public var description: String {
            "part \(sequence) under concatenation reference \(reference) is already held with other text from a message still waiting for its parts; send this message under another reference"
        }
    }

    /// What became of a part given to `add`.
    public enum Added: Sendable, Equatable {
        /// Kept; the message still waits for other parts.
        case waiting
        /// The last part: every part, in order. The message is claimed: the same parts sent again
        /// meanwhile are `again`, until `release` (it could not be stored now) or `forget`.
        case whole([Part])
        /// A part of a message already completed (or being completed) sent again, as a sender does
        /// when a response was lost: taken once, nothing kept.
        case again
    }

    /// Keeps part `sequence` (1-based) of the message `key`; with the last part, claims the message
    /// and returns every part. Runs in one writer transaction, so of two copies of a last part sent
    /// at once (pipelined, or over two binds) exactly one completes the message. A completed
    /// message's parts are kept, marked, until `keepSeconds` after completion, so that a part of it
    /// sent again is `again`, not the start of a second copy; a part with other content under a
    /// completed message's key starts a new message (the sender reused the reference), with the
    /// lower-numbered parts that were `again` within `echoSeconds` before it (they may be replaced
    /// by other text later, as a carried-over guess).
    /// - Parameter replacing: what a part with other content in a place already held (of a message
    ///   still waiting) does: replace it (a carrier's `deliver_sm`, which cannot be refused
    ///   usefully), or, when false, be refused with `PartHeld` (a customer's `submit_sm`: the held
    ///   part was acknowledged, so dropping it would lose text the customer was told was taken).
    /// - Throws: `PartHeld`, or a storage error (the part is not kept; the sender should be told
    ///   to try again).
    public func add(_ key: Key, sequence: Int, part: Part, replacing: Bool = true) async throws -> Added {
        let now = clock.now().epochMillis
        let expired = now - Int64(keepSeconds) * 1000
        let keyArguments: StatementArguments = [key.scope, key.source, key.destination, key.reference, key.total]
        let ofKey = "scope = ? AND source = ? AND destination = ? AND reference = ? AND total = ?"
        return try await writer.write { db in
            try Self.purge(db, before: expired)
            if let held = try Row.fetchOne(
                db,
                sql: """
                    SELECT data_coding, content, text, completed_at, echoed_at FROM smpp_partials
                    WHERE \(ofKey) AND sequence = ?
                    """,
                arguments: keyArguments + [sequence])
            {
                let completed = (held["completed_at"] as Int64?) != nil
                let same = Self.part(held) == part
                if completed {
                    if same {
                        // A copy sent again, or the first part of a new message under the same
                        // reference that starts as the old one did: which, only a later part tells.
                        try db.execute(
                            sql: "UPDATE smpp_partials SET echoed_at = ? WHERE \(ofKey) AND sequence = ?",
                            arguments: [now] + keyArguments + [sequence])
                        return .again
                    }
                    // The reference is reused for another message. Earlier parts that came again
                    // just before this one are that message's own (a template's first parts, sent
                    // in order); the rest of the completed message is done with.
                    try db.execute(
                        sql: """
                            UPDATE smpp_partials SET completed_at = NULL, received_at = ?
                            WHERE \(ofKey) AND completed_at IS NOT NULL AND echoed_at >= ? AND sequence < ?
                            """,
                        arguments: [now] + keyArguments + [now - Int64(Self.echoSeconds) * 1000, sequence])
                    try db.execute(
                        sql: "DELETE FROM smpp_partials WHERE \(ofKey) AND completed_at IS NOT NULL",
                        arguments: keyArguments)
                } else if !replacing, !same, (held["echoed_at"] as Int64?) == nil {
                    // A part carried over from a completed message (echoed_at set) is provisional:
                    // other text in its place replaces it.
                    throw PartHeld(sequence: sequence, reference: key.reference)
                }
            }
            // `text` is NOT NULL from the table's first version; parts kept as user data leave it empty.
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO smpp_partials
                        (scope, source, destination, reference, total, sequence, text, data_coding, content, received_at)
                    VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?)
                    """,
                arguments: keyArguments + [sequence, part.dataCoding, Data(part.content), now])
            let parts = try Row.fetchAll(
                db,
                sql: """
                    SELECT data_coding, content, text FROM smpp_partials
                    WHERE \(ofKey) AND completed_at IS NULL ORDER BY sequence
                    """,
                arguments: keyArguments)
            guard parts.count == key.total else { return .waiting }
            try db.execute(
                sql: """
                    UPDATE smpp_partials SET completed_at = ?, echoed_at = NULL
                    WHERE \(ofKey) AND completed_at IS NULL
                    """,
                arguments: [now] + keyArguments)
            return .whole(parts.map(Self.part))
        }
    }

    /// Deletes parts of messages that never completed within `keepSeconds`, and the kept parts of
    /// messages completed longer ago than that. `add` runs it too; `run` runs it every minute, so a
    /// quiet server keeps no text past its time either.
    public func purgeExpired() async throws {
        let expired = clock.now().epochMillis - Int64(keepSeconds) * 1000
        try await writer.write { db in try Self.purge(db, before: expired) }
    }

    private static func purge(_ db: Database, before expired: Int64) throws {
        try db.execute(
            sql: "DELETE FROM smpp_partials WHERE coalesce(completed_at, received_at) < ?", arguments: [expired])
    }

    /// A kept part: its user data, or the text of one kept before parts were kept as user data.
    private static func part(_ row: Row) -> Part {
        guard let dataCoding: UInt8 = row["data_coding"] else { return .ucs2(row["text"]) }
        // An empty BLOB may read back as NULL.
        let content: Data? = row["content"]
        return Part(dataCoding: dataCoding, content: Array(content ?? Data()))
    }

    /// Gives back the claim `add` took with `.whole`: the message could not be stored now (the
    /// send rate, storage), so the last part sent again completes it.
    public func release(_ key: Key) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE smpp_partials SET completed_at = NULL, echoed_at = NULL
                    WHERE scope = ? AND source = ? AND destination = ? AND reference = ? AND total = ?
                    """,
                arguments: [key.scope, key.source, key.destination, key.reference, key.total])
        }
    }

    /// Forgets the parts of `key`: its whole message was refused for good (a part sent again then
    /// starts over, and is refused again).
    public func forget(_ key: Key) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    DELETE FROM smpp_partials
                    WHERE scope = ? AND source = ? AND destination = ? AND reference = ? AND total = ?
                    """,
                arguments: [key.scope, key.source, key.destination, key.reference, key.total])
        }
    }

    /// Purges expired parts every minute until shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await purgeExpired()
                try? await Task.sleep(for: .seconds(60))
            }
        }
    }
}
