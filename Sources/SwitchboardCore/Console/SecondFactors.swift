import Foundation
import GRDB

/// Each account's second factors for the console (TOTP, an SMS number, recovery codes) and the
/// browsers that passed one. The rule of when one is asked lives in ``needsSecondFactor``.
public struct SecondFactors: Sendable {
    let writer: GroupCommitWriter
    let clock: any WallClock

    /// Recovery codes made at a time.
    public static let recoveryCodeCount = 10

    public init(writer: GroupCommitWriter, clock: any WallClock) {
        self.writer = writer
        self.clock = clock
    }

    /// What an account has enrolled.
    public struct Status: Sendable, Equatable {
        public var totp: Bool
        /// The confirmed SMS number (E.164), if any.
        public var smsNumber: String?
        public var recoveryCodesLeft: Int
        /// True when the account has at least one factor to pass.
        public var enrolled: Bool { totp || smsNumber != nil }
    }

    public func status(accountID: String) async throws -> Status {
        try await writer.pool.read { db in
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM second_factors WHERE account_id = ?"), arguments: [accountID])
            let left =
                try Int.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT COUNT(*) FROM recovery_codes WHERE account_id = ? AND used_at IS NULL"),
                    arguments: [accountID]) ?? 0
            let totp = (row?["totp_confirmed_at"] as Int64?) != nil
            let sms: String? = (row?["sms_confirmed_at"] as Int64?) != nil ? row?["sms_number"] : nil
            return Status(totp: totp, smsNumber: sms, recoveryCodesLeft: left)
        }
    }

    /// The rule (from the platform's privacy policy): a second factor is asked at enrolment and
    /// whenever the browser or the country of the address is one this account has not passed a
    /// second factor from.
    public func needsSecondFactor(accountID: String, deviceHash: String?, country: String) async throws -> Bool {
        guard let deviceHash else { return true }
        return try await writer.pool.read { db in
            try Int.fetchOne(
                db.cachedStatement(
                    sql: "SELECT 1 FROM known_browsers WHERE account_id = ? AND device_hash = ? AND country = ?"),
                arguments: [accountID, deviceHash, country]) == nil
        }
    }

    /// Remembers a browser and country that passed a second factor.
    public func rememberBrowser(accountID: String, deviceHash: String, country: String) async throws {
        let now = clock.now().epochMillis
        try await writer.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO known_browsers (account_id, device_hash, country, first_seen_at, last_seen_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (account_id, device_hash, country) DO UPDATE SET last_seen_at = excluded.last_seen_at
                    """
            ).execute(arguments: [accountID, deviceHash, country, now, now])
        }
    }

    /// Forgets every remembered browser: the next sign-in from each asks a second factor again.
    public func forgetBrowsers(accountID: String) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM known_browsers WHERE account_id = ?").execute(arguments: [
                accountID
            ])
        }
    }

    /// A new TOTP secret for the account, kept unconfirmed (it counts only once a code from it is
    /// entered); it replaces an earlier unconfirmed one and leaves a confirmed one in force.
    public func beginTOTP(accountID: String) async throws -> TOTP {
        let totp = TOTP.generate()
        let now = clock.now().epochMillis
        try await writer.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO second_factors (account_id, totp_secret, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (account_id) DO UPDATE SET totp_secret = excluded.totp_secret,
                        totp_confirmed_at = NULL, totp_last_step = NULL, updated_at = excluded.updated_at
                    """
            ).execute(arguments: [accountID, totp.base32Secret, now])
        }
        return totp
    }

    /// The secret being set up: the unconfirmed one if there is one (so reloading the enrolment
    /// page keeps it), else a new one; nil when the account has a confirmed secret, which is never
    /// shown again.
    public func pendingTOTP(accountID: String) async throws -> TOTP? {
        let (secret, confirmed) = try await writer.pool.read { db -> (String?, Bool) in
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT totp_secret, totp_confirmed_at FROM second_factors WHERE account_id = ?"),
                arguments: [accountID])
            return (row?["totp_secret"], (row?["totp_confirmed_at"] as Int64?) != nil)
        }
        if confirmed { return nil }
        if let secret, let bytes = Base32.decode(secret) { return TOTP(secret: bytes) }
        return try await beginTOTP(accountID: accountID)
    }

    /// Confirms the secret from ``beginTOTP`` with a code from the app.
    /// - Returns: fresh recovery codes when this is the account's first factor, an empty list when
    ///   it already had codes; nil when the code is wrong.
    public func confirmTOTP(accountID: String, code: String) async throws -> [String]? {
        let now = clock.now().epochMillis
        let codes = Self.makeRecoveryCodes()
        return try await writer.write { db -> [String]? in
            guard
                let secret = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT totp_secret FROM second_factors WHERE account_id = ?"),
                    arguments: [accountID]),
                let bytes = Base32.decode(secret),
                let step = TOTP(secret: bytes).matchingStep(code, atMillis: now)
            else { return nil }
            try db.cachedStatement(
                sql: """
                    UPDATE second_factors SET totp_confirmed_at = ?, totp_last_step = ?, updated_at = ?
                    WHERE account_id = ?
                    """
            ).execute(arguments: [now, step, now, accountID])
            return try Self.issueRecoveryCodesIfNone(db, accountID: accountID, codes: codes, now: now)
        }
    }

    /// Checks a code from the enrolled TOTP app. A code is accepted once: a step at or before the
    /// last one used is refused (RFC 6238 section 5.2).
    public func verifyTOTP(accountID: String, code: String) async throws -> Bool {
        let now = clock.now().epochMillis
        return try await writer.write { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT totp_secret, totp_last_step FROM second_factors
                            WHERE account_id = ? AND totp_confirmed_at IS NOT NULL
                            """), arguments: [accountID]),
                let secret: String = row["totp_secret"], let bytes = Base32.decode(secret),
                let step = TOTP(secret: bytes).matchingStep(code, atMillis: now)
            else { return false }
            if let last: Int64 = row["totp_last_step"], step <= last { return false }
            try db.cachedStatement(sql: "UPDATE second_factors SET totp_last_step = ? WHERE account_id = ?")
                .execute(arguments: [step, accountID])
            return true
        }
    }

    /// Keeps the SMS number as confirmed once a code sent to it was entered.
    /// - Returns: fresh recovery codes when the account had none, else an empty list.
    public func confirmSMS(accountID: String, number: String) async throws -> [String] {
        let now = clock.now().epochMillis
        let codes = Self.makeRecoveryCodes()
        return try await writer.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO second_factors (account_id, sms_number, sms_confirmed_at, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (account_id) DO UPDATE SET sms_number = excluded.sms_number,
                        sms_confirmed_at = excluded.sms_confirmed_at, updated_at = excluded.updated_at
                    """
            ).execute(arguments: [accountID, number, now, now])
            return try Self.issueRecoveryCodesIfNone(db, accountID: accountID, codes: codes, now: now)
        }
    }

    /// Uses one recovery code (each works once).
    public func useRecoveryCode(accountID: String, code: String) async throws -> Bool {
        let hash = Self.normalised(code).sha256Hex
        let now = clock.now().epochMillis
        return try await writer.write { db in
            try db.cachedStatement(
                sql: "UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND code_hash = ? AND used_at IS NULL"
            ).execute(arguments: [now, accountID, hash])
            return db.changesCount == 1
        }
    }

    /// Replaces every recovery code with ``recoveryCodeCount`` new ones, shown once.
    public func regenerateRecoveryCodes(accountID: String) async throws -> [String] {
        let codes = Self.makeRecoveryCodes()
        let now = clock.now().epochMillis
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM recovery_codes WHERE account_id = ?").execute(arguments: [
                accountID
            ])
            try Self.insert(db, accountID: accountID, codes: codes, now: now)
        }
        return codes
    }

    private static func issueRecoveryCodesIfNone(_ db: Database, accountID: String, codes: [String], now: Int64) throws
        -> [String]
    {
        let existing =
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT COUNT(*) FROM recovery_codes WHERE account_id = ?"),
                arguments: [accountID]) ?? 0
        guard existing == 0 else { return [] }
        try insert(db, accountID: accountID, codes: codes, now: now)
        return codes
    }

    private static func insert(_ db: Database, accountID: String, codes: [String], now: Int64) throws {
        for code in codes {
            try db.cachedStatement(
                sql: "INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES (?, ?, ?)"
            ).execute(arguments: [accountID, normalised(code).sha256Hex, now])
        }
    }

    /// Ten codes of 10 base32 characters (50 random bits each), shown as `xxxxx-xxxxx`.
    static func makeRecoveryCodes() -> [String] {
        var generator = SystemRandomNumberGenerator()
        return (0..<recoveryCodeCount).map { _ in
            let bytes = (0..<7).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let text = Base32.encode(bytes).lowercased().prefix(10)
            return "\(text.prefix(5))-\(text.suffix(5))"
        }
    }

    /// A code as typed: case, spaces and dashes do not matter.
    static func normalised(_ code: String) -> String {
        code.lowercased().filter { $0 != "-" && !$0.isWhitespace }
    }
}

extension SecondFactors {
    /// A six-digit sign-in code for SMS, uniform over 000000–999999 from the system CSPRNG.
    public static func makeSMSCode() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = UInt32.random(in: 0..<1_000_000, using: &generator)
        let text = String(value)
        return String(repeating: "0", count: 6 - text.count) + text
    }
}
