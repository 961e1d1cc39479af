import Foundation
import GRDB

/// Rotation of an account's webhook signing secret, with an overlap window in which status
/// callbacks are signed with both the new and the previous secret, so a customer can deploy the
/// new secret to its receivers without rejecting a callback (the scheme Stripe's `v1=` signatures use).
///
/// The previous secret is kept in `accounts.webhook_secret_previous` until
/// `webhook_secret_previous_until` (ms since 1970), then dropped; erasing the account drops it at
/// once (a database trigger). A new secret is 24 bytes straight from the system CSPRNG
/// (`Identifier.randomToken`), written `whsec_` + base64url.
public struct WebhookSecrets: Sendable {
    /// The longest overlap a rotation may ask for: 7 days, in seconds.
    public static let maxOverlapSeconds = 7 * 86_400

    let writer: GroupCommitWriter
    let clock: any WallClock
    /// The overlap when a rotation names none, in seconds (`callbacks.secret_overlap_seconds`).
    public let defaultOverlapSeconds: Int

    public init(writer: GroupCommitWriter, clock: any WallClock, defaultOverlapSeconds: Int) {
        self.writer = writer
        self.clock = clock
        self.defaultOverlapSeconds = defaultOverlapSeconds
    }

    /// The account's secrets' state, without the secrets.
    public struct State: Sendable, Equatable {
        /// Until when (ms since 1970) callbacks also carry a signature with the previous secret;
        /// nil when there is no overlap.
        public var previousValidUntil: Int64?
    }

    /// A rotation's result: the new secret, shown once in the answer.
    public struct Rotation: Sendable, Equatable {
        /// `whsec_` + 32 base64url characters.
        public var secret: String
        /// When the replaced secret stops signing (ms since 1970); nil when the overlap is 0.
        public var previousValidUntil: Int64?
    }

    /// No active account has this id.
    public struct AccountNotFound: Error, Sendable {}

    /// Replaces the account's secret. The replaced one stays valid for `overlapSeconds` (0...7 days;
    /// nil for the default), replacing any previous secret still in its window; 0 ends it at once.
    /// - Throws: `AccountNotFound` for an unknown or erased account; a storage error.
    public func rotate(accountID: String, overlapSeconds: Int? = nil) async throws -> Rotation {
        let overlap = overlapSeconds ?? defaultOverlapSeconds
        precondition((0...Self.maxOverlapSeconds).contains(overlap), "the overlap must be 0 to 7 days")
        let secret = "whsec_" + Identifier.randomToken(bytes: 24)
        let now = clock.now().epochMillis
        let until: Int64? = overlap > 0 ? now + Int64(overlap) * 1000 : nil
        let changed = try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE accounts SET webhook_secret_previous = CASE WHEN ? IS NULL THEN NULL ELSE webhook_secret END,
                        webhook_secret_previous_until = ?, webhook_secret = ?, updated_at = ?
                    WHERE id = ? AND status = 'active'
                    """, arguments: [until, until, secret, now, accountID])
            return db.changesCount
        }
        guard changed == 1 else { throw AccountNotFound() }
        return Rotation(secret: secret, previousValidUntil: until)
    }

    /// Ends the overlap window now: callbacks are signed with the current secret only. Returns
    /// whether a previous secret was still valid.
    /// - Throws: `AccountNotFound` for an unknown or erased account; a storage error.
    public func endOverlap(accountID: String) async throws -> Bool {
        let now = clock.now().epochMillis
        let had = try await writer.write { db -> Bool? in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql:
                        "SELECT webhook_secret_previous_until AS until FROM accounts WHERE id = ? AND status = 'active'",
                    arguments: [accountID])
            else { return nil }
            let until: Int64? = row["until"]
            try db.execute(
                sql:
                    "UPDATE accounts SET webhook_secret_previous = NULL, webhook_secret_previous_until = NULL WHERE id = ?",
                arguments: [accountID])
            return until.map { $0 > now } ?? false
        }
        guard let had else { throw AccountNotFound() }
        return had
    }

    /// - Throws: `AccountNotFound` for an unknown or erased account; a storage error.
    public func state(accountID: String) async throws -> State {
        let now = clock.now().epochMillis
        let found = try await writer.pool.read { db -> Int64?? in
            try Row.fetchOne(
                db,
                sql: "SELECT webhook_secret_previous_until AS until FROM accounts WHERE id = ? AND status = 'active'",
                arguments: [accountID]
            ).map { $0["until"] as Int64? }
        }
        guard let until = found else { throw AccountNotFound() }
        return State(previousValidUntil: until.flatMap { $0 > now ? $0 : nil })
    }

    /// Drops previous secrets whose window has passed, so no expired secret stays on disk.
    static func dropExpired(writer: GroupCommitWriter, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE accounts SET webhook_secret_previous = NULL, webhook_secret_previous_until = NULL
                    WHERE webhook_secret_previous IS NOT NULL AND webhook_secret_previous_until <= ?
                    """, arguments: [now])
        }
    }
}
