import Foundation
import GRDB

/// Parts of long messages that arrived over SMPP and wait for the rest (`smpp_partials`).
///
/// A part is acknowledged (`submit_sm_resp`, `deliver_sm_resp`) as soon as it is kept here, so it
/// must outlive a restart: the sender will not send it again. Parts belong together when they share
/// the scope (the customer's account, or the SMSC account they came from), the numbers, and the
/// concatenation reference and total (3GPP TS 23.040 §9.2.3.24.1 and §9.2.3.24.8; SAR TLVs carry
/// the same, SMPP 3.4 §5.3.2.22–24). A message's parts stay until its caller settles them
/// (`complete`), so a whole message that could not be stored yet completes again when the last
/// part is sent again; parts of a message that never completes go after `keepSeconds`. They hold
/// Customer Content, and an account's erasure deletes its parts at once.
///
/// A part is kept as its user data (data_coding and octets or septets), not as text: a sender may
/// split a character between two parts (a UTF-16 surrogate pair, a GSM 03.38 escape and its
/// extension character), which only the joined user data reads whole.
public struct SMPPPartials: Sendable {
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

    /// Keeps part `sequence` (1-based) of the message `key` and returns every part, in order, once
    /// all are in; the parts stay until `complete`. The same part sent again (a resend whose
    /// response was lost) is taken once.
    /// - Parameter replacing: what a part with other content in a place already held does: replace
    ///   it (a carrier's `deliver_sm`, which cannot be refused usefully), or, when false, be refused
    ///   with `PartHeld` (a customer's `submit_sm`: the held part was acknowledged, so dropping it
    ///   would lose text the customer was told was taken).
    /// - Throws: `PartHeld`, or a storage error (the part is not kept; the sender should be told
    ///   to try again).
    public func add(_ key: Key, sequence: Int, part: Part, replacing: Bool = true) async throws -> [Part]? {
        let now = clock.now().epochMillis
        let expired = now - Int64(keepSeconds) * 1000
        return try await writer.write { db in
            try db.execute(sql: "DELETE FROM smpp_partials WHERE received_at < ?", arguments: [expired])
            if !replacing,
                let held = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT data_coding, content, text FROM smpp_partials
                        WHERE scope = ? AND source = ? AND destination = ? AND reference = ? AND total = ?
                            AND sequence = ?
                        """,
                    arguments: [key.scope, key.source, key.destination, key.reference, key.total, sequence]),
                Self.part(held) != part
            {
                throw PartHeld(sequence: sequence, reference: key.reference)
            }
            // `text` is NOT NULL from the table's first version; parts kept as user data leave it empty.
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO smpp_partials
                        (scope, source, destination, reference, total, sequence, text, data_coding, content, received_at)
                    VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?)
                    """,
                arguments: [
                    key.scope, key.source, key.destination, key.reference, key.total, sequence, part.dataCoding,
                    Data(part.content), now,
                ])
            let parts = try Row.fetchAll(
                db,
                sql: """
                    SELECT data_coding, content, text FROM smpp_partials
                    WHERE scope = ? AND source = ? AND destination = ? AND reference = ? AND total = ?
                    ORDER BY sequence
                    """,
                arguments: [key.scope, key.source, key.destination, key.reference, key.total])
            guard parts.count == key.total else { return nil }
            return parts.map(Self.part)
        }
    }

    /// A kept part: its user data, or the text of one kept before parts were kept as user data.
    private static func part(_ row: Row) -> Part {
        guard let dataCoding: UInt8 = row["data_coding"] else { return .ucs2(row["text"]) }
        // An empty BLOB may read back as NULL.
        let content: Data? = row["content"]
        return Part(dataCoding: dataCoding, content: Array(content ?? Data()))
    }

    /// Forgets the parts of `key`: its whole message was stored, or refused for good.
    public func complete(_ key: Key) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    DELETE FROM smpp_partials
                    WHERE scope = ? AND source = ? AND destination = ? AND reference = ? AND total = ?
                    """,
                arguments: [key.scope, key.source, key.destination, key.reference, key.total])
        }
    }
}
