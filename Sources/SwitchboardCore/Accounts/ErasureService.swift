import GRDB

/// What an account deletion did: what was erased, and what was kept and why.
public struct ErasureReport: Sendable, Codable, Equatable {
    public struct Kept: Sendable, Codable, Equatable {
        public var data: String
        public var reason: String
    }

    /// Whether anything was erased.
    public enum Status: String, Sendable, Codable {
        case erased
        /// An operator legal hold is set: nothing was erased.
        case held
    }

    public var status: Status
    public var erased: [String]
    public var kept: [Kept]
}

/// The erasure use cases (GDPR article 17): an account, one number, one contact. Each erases the
/// core's copy and records the request for the add-ons in one transaction.
public struct ErasureService: Sendable {
    let writer: GroupCommitWriter
    let clock: any WallClock
    let accounts: AccountStore
    let requests: any ErasureRequestSink
    /// Days activity logs are kept, named in the report of what is kept and why.
    let retentionDays: Int

    public init(
        writer: GroupCommitWriter, clock: any WallClock, accounts: AccountStore, requests: any ErasureRequestSink,
        retentionDays: Int
    ) {
        self.writer = writer
        self.clock = clock
        self.accounts = accounts
        self.requests = requests
        self.retentionDays = retentionDays
    }

    /// An account erasure: the report, and the id of the request sent on to add-ons (nil when held).
    public struct AccountOutcome: Sendable, Equatable {
        public var report: ErasureReport
        public var requestID: String?
    }

    /// The outcome of erasing one number.
    public enum NumberOutcome: Sendable, Equatable {
        /// The core's copy is erased and add-ons are asked to erase theirs under this request id.
        case requested(String)
        /// An operator legal hold is set on the account: nothing was erased.
        case held
    }

    /// Erases the account's personal data and closes it; nil when there is no such account. While
    /// an operator legal hold is set nothing is erased: the request is recorded (when, and `origin`)
    /// and carried out when the hold is lifted (``liftLegalHold(accountID:)``). `origin` names who
    /// asked (`api:KEY`, `cli`), kept with the request.
    public func eraseAccount(accountID: String, origin: String) async throws -> AccountOutcome? {
        let now = clock.now().epochMillis
        let retentionDays = self.retentionDays
        let requests = self.requests
        defer { accounts.credentials.forget(accountID: accountID) }
        let outcome: AccountOutcome? = try await writer.write { db in
            guard
                let account = try Account.fetchOne(
                    db, sql: "SELECT * FROM accounts WHERE id = ?", arguments: [accountID])
            else { return nil }
            if let reason = account.legalHoldReason {
                // The first request's time and origin are the ones kept: asking again changes nothing.
                try db.execute(
                    sql: """
                        UPDATE accounts SET erasure_requested_at = COALESCE(erasure_requested_at, ?),
                            erasure_requested_by = COALESCE(erasure_requested_by, ?), updated_at = ?
                        WHERE id = ? AND status = 'active'
                        """, arguments: [now, origin, now, accountID])
                return AccountOutcome(report: Self.heldReport(reason), requestID: nil)
            }
            return try Self.erase(
                db, accountID: accountID, origin: origin, now: now, retentionDays: retentionDays, requests: requests)
        }
        if outcome?.requestID != nil { await purgeErasedPages() }
        return outcome
    }

    /// What lifting a legal hold did: the account as it now is, and the deletion the customer asked
    /// for while it was held, carried out in the same transaction (nil when none was waiting).
    public struct LiftOutcome: Sendable, Equatable {
        public var account: Account
        public var erasure: AccountOutcome?
    }

    /// Lifts the operator legal hold on `accountID` and, in the same transaction, carries out the
    /// deletion the customer asked for while it was set, under the customer's own origin; nil when
    /// there is no such account. GDPR article 17(1) asks for erasure "without undue delay" once the
    /// ground for keeping the data (here article 17(3)(e), legal claims) is gone.
    public func liftLegalHold(accountID: String) async throws -> LiftOutcome? {
        let now = clock.now().epochMillis
        let retentionDays = self.retentionDays
        let requests = self.requests
        let lifted: Lifted = try await writer.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT status, erasure_requested_at, erasure_requested_by FROM accounts WHERE id = ?",
                    arguments: [accountID])
            else { return .noSuchAccount }
            try db.execute(
                sql: "UPDATE accounts SET legal_hold_reason = NULL, updated_at = ? WHERE id = ?",
                arguments: [now, accountID])
            let status: String = row["status"]
            let requestedAt: Int64? = row["erasure_requested_at"]
            guard status == AccountStatus.active.rawValue, requestedAt != nil else { return .nothingWaiting }
            let origin: String = row["erasure_requested_by"] ?? "unknown"
            return .erased(
                try Self.erase(
                    db, accountID: accountID, origin: origin, now: now, retentionDays: retentionDays,
                    requests: requests))
        }
        let erasure: AccountOutcome?
        switch lifted {
        case .noSuchAccount: return nil
        case .nothingWaiting: erasure = nil
        case .erased(let outcome):
            accounts.credentials.forget(accountID: accountID)
            await purgeErasedPages()
            erasure = outcome
        }
        guard let account = try await accounts.find(id: accountID) else { return nil }
        return LiftOutcome(account: account, erasure: erasure)
    }

    /// What the lifting transaction found: no account, a hold with no deletion waiting, or the
    /// waiting deletion carried out.
    private enum Lifted {
        case noSuchAccount
        case nothingWaiting
        case erased(AccountOutcome)
    }

    /// The erasure itself, in the caller's transaction: the core's copy of the account's personal
    /// data, and the request that asks the add-ons for theirs.
    private static func erase(
        _ db: Database, accountID: String, origin: String, now: Int64, retentionDays: Int,
        requests: any ErasureRequestSink
    ) throws -> AccountOutcome {
        try db.execute(sql: "DELETE FROM contacts WHERE account_id = ?", arguments: [accountID])
        let contacts = db.changesCount
        // Messages not yet handed to the carrier are not sent without their bodies: they fail.
        try db.execute(
            sql: """
                UPDATE messages SET status = 'failed', error_message = 'account erased before sending', completed_at = ?,
                    updated_at = ? WHERE account_id = ? AND status = 'queued'
                """, arguments: [now, now, accountID])
        try db.execute(
            sql: """
                UPDATE messages SET body = NULL, body_digest = NULL, status_callback = NULL,
                    status_callback_events = NULL WHERE account_id = ?
                """, arguments: [accountID])
        try db.execute(sql: "DELETE FROM callbacks WHERE account_id = ?", arguments: [accountID])
        try db.execute(sql: "DELETE FROM account_numbers WHERE account_id = ?", arguments: [accountID])
        try db.execute(
            sql: "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE account_id = ?",
            arguments: [now, accountID])
        try db.execute(
            sql: """
                UPDATE accounts SET name = NULL, email = NULL, company = NULL, password_hash = NULL,
                    last_login_at = NULL, last_login_ip = NULL, webhook_secret = '', status = 'erased', erased_at = ?, updated_at = ?
                WHERE id = ?
                """, arguments: [now, now, accountID])
        let requestID = try requests.requestErasure(db, accountID: accountID, subject: .account, origin: origin)
        return AccountOutcome(
            report: erasedReport(contacts: contacts, retentionDays: retentionDays), requestID: requestID)
    }

    /// Empties the write-ahead log after an erasure, so the erased values are in no file. The
    /// erasure itself is committed either way; a log still in use is emptied by a later erasure or
    /// checkpoint, so a failure here is not the requester's error.
    private func purgeErasedPages() async {
        try? await writer.purgeWriteAheadLog()
    }

    /// Asks the add-on `addonID` alone to erase what it received about the account, unless an
    /// operator legal hold is set; the hold is read in the transaction that records the request, so
    /// a hold set meanwhile is never passed by.
    public func eraseAtAddon(accountID: String, addonID: String, origin: String) async throws -> NumberOutcome {
        let requests = self.requests
        return try await writer.write { db in
            let held = try String.fetchOne(
                db, sql: "SELECT legal_hold_reason FROM accounts WHERE id = ?", arguments: [accountID])
            if held != nil { return .held }
            return .requested(try requests.requestErasure(db, accountID: accountID, atAddon: addonID, origin: origin))
        }
    }

    /// Erases what the platform holds about one phone number of this account (contacts with it, the
    /// bodies of messages to or from it, and parts of long messages to or from it still waiting for
    /// the rest) and asks the add-ons that received it to do the same (GDPR Art. 17).
    public func eraseNumber(accountID: String, number: String, origin: String) async throws -> NumberOutcome {
        let requests = self.requests
        let outcome: NumberOutcome = try await writer.write { db in
            let held = try String.fetchOne(
                db, sql: "SELECT legal_hold_reason FROM accounts WHERE id = ?", arguments: [accountID])
            if held != nil { return .held }
            try db.execute(
                sql: "DELETE FROM contacts WHERE account_id = ? AND number = ?", arguments: [accountID, number])
            try db.execute(
                sql: """
                    UPDATE messages SET body = NULL, body_digest = NULL
                    WHERE account_id = ? AND (to_number = ? OR from_number = ?) AND status != 'queued'
                    """, arguments: [accountID, number, number])
            // Inbound bodies still held for the account's SMPP receivers go too.
            try db.execute(
                sql: """
                    DELETE FROM smpp_deliveries WHERE account_id = ? AND kind = 'inbound' AND message_id IN (
                        SELECT id FROM messages WHERE account_id = ? AND from_number = ?)
                    """, arguments: [accountID, accountID, number])
            // So do parts of long messages still waiting for the rest: the account's own to or from
            // the number, and those the number is sending to one of the account's numbers (a part
            // kept after this would otherwise complete a message with the erased text).
            try db.execute(
                sql: """
                    DELETE FROM smpp_partials WHERE (scope = ? AND (source = ? OR destination = ?))
                    OR (scope LIKE 'smsc:%' AND source = ?
                        AND destination IN (SELECT number FROM account_numbers WHERE account_id = ?))
                    """,
                arguments: [SMPPPartials.Key.account(accountID), number, number, number, accountID])
            return .requested(
                try requests.requestErasure(db, accountID: accountID, subject: .number(number), origin: origin))
        }
        if case .requested = outcome { await purgeErasedPages() }
        return outcome
    }

    /// Deletes one contact and tells the add-ons that saw its number; false when there is no such contact.
    public func deleteContact(accountID: String, id: String, origin: String) async throws -> Bool {
        let requests = self.requests
        let deleted = try await writer.write { db in
            guard
                let number = try String.fetchOne(
                    db, sql: "SELECT number FROM contacts WHERE id = ? AND account_id = ?", arguments: [id, accountID])
            else { return false }
            try db.execute(sql: "DELETE FROM contacts WHERE id = ? AND account_id = ?", arguments: [id, accountID])
            _ = try requests.requestErasure(
                db, accountID: accountID, subject: .contact(id: id, number: number), origin: origin)
            return true
        }
        if deleted { await purgeErasedPages() }
        return deleted
    }

    private static func heldReport(_ reason: String) -> ErasureReport {
        ErasureReport(
            status: .held, erased: [],
            kept: [
                .init(
                    data: "all account data",
                    reason:
                        "an operator legal hold is set on this account (\(reason)); nothing is erased while it is set. This request is recorded, and the account is erased as soon as the hold is lifted"
                )
            ])
    }

    /// What deleting the account will erase and keep, shown before the customer confirms.
    public func preview() -> ErasureReport { Self.erasedReport(contacts: nil, retentionDays: retentionDays) }

    private static func erasedReport(contacts: Int?, retentionDays: Int) -> ErasureReport {
        ErasureReport(
            status: .erased,
            erased: [
                "name", "email", "company", "password", "last sign-in time and address",
                contacts.map { "contacts (\($0))" } ?? "contacts",
                "message bodies and body digests", "status callback URLs and pending callbacks",
                "webhook signing secret",
                "phone numbers",
                "API keys (revoked)",
            ],
            kept: [
                .init(
                    data: "message records without bodies (numbers, status, segments, timestamps)",
                    reason: "billing and carrier dispute records the platform must keep"),
                .init(
                    data: "opt-out records",
                    reason: "proof that recipients who replied STOP are not messaged again"),
                .init(
                    data: "API request logs",
                    reason: "security records; purged automatically after \(retentionDays) days"),
            ])
    }
}
