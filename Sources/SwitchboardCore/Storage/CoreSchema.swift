import GRDB

/// One versioned step of the schema: an identifier (recorded in `grdb_migrations`) and its SQL.
/// A migration, once shipped, is never edited: add a new one.
public struct SchemaMigration: Sendable {
    public var identifier: String
    public var sql: String

    public init(_ identifier: String, sql: String) {
        self.identifier = identifier
        self.sql = sql
    }
}

/// The core's own tables (accounts, keys, numbers, messages, opt-outs, contacts, request logs,
/// callbacks). Other targets own theirs; the composition root puts every target's steps in the
/// order they shipped.
public enum CoreSchema {
    public static let v1Core = SchemaMigration("v1-core", sql: v1)
    public static let v4CallbackEvents = SchemaMigration("v4-callback-events", sql: v4)
    public static let v6ErasedAccountsStayErased = SchemaMigration("v6-erased-accounts-stay-erased", sql: v6)
    public static let v7CallbackReceiversSecretRotation = SchemaMigration(
        "v7-callback-receivers-secret-rotation", sql: v7)
    public static let v8SignInSessions = SchemaMigration("v8-sign-in-sessions", sql: v8)
    public static let v9CarrierSubmitIntent = SchemaMigration("v9-carrier-submit-intent", sql: v9)
    public static let v10CarrierSubmissions = SchemaMigration("v10-carrier-submissions", sql: v10)
    public static let v11SMPPServer = SchemaMigration("v11-smpp-server", sql: v11)
    public static let v12InboundWebhooks = SchemaMigration("v12-inbound-webhooks", sql: v12)
    public static let v13SMPPPartials = SchemaMigration("v13-smpp-partials", sql: v13)
    public static let v14AccountInboundWebhook = SchemaMigration("v14-account-inbound-webhook", sql: v14)
    public static let v17ConsoleSignIn = SchemaMigration("v17-console-sign-in", sql: v17)
    public static let v18ErasureAwaitingHold = SchemaMigration("v18-erasure-awaiting-hold", sql: v18)
    public static let v19ErasedAccountsKeepNoSignInTime = SchemaMigration(
        "v19-erased-accounts-keep-no-sign-in-time", sql: v19)
    public static let v20SMPPDeliveryRefusals = SchemaMigration("v20-smpp-delivery-refusals", sql: v20)
    public static let v21SMPPPartsAsUserData = SchemaMigration("v21-smpp-parts-as-user-data", sql: v21)
    public static let v22SMPPPartsClaimed = SchemaMigration("v22-smpp-parts-claimed", sql: v22)
    public static let v23SMPPPartsEchoed = SchemaMigration("v23-smpp-parts-echoed", sql: v23)
    /// The core's steps alone, in order (a database holding only the core, as in its own tests).
    public static let migrations = [
        v1Core, v4CallbackEvents, v6ErasedAccountsStayErased, v7CallbackReceiversSecretRotation,
        v8SignInSessions, v9CarrierSubmitIntent, v10CarrierSubmissions, v11SMPPServer, v12InboundWebhooks,
        v13SMPPPartials, v14AccountInboundWebhook, v17ConsoleSignIn, v18ErasureAwaitingHold,
        v19ErasedAccountsKeepNoSignInTime, v20SMPPDeliveryRefusals, v21SMPPPartsAsUserData,
        v22SMPPPartsClaimed, v23SMPPPartsEchoed,
    ]

    private static let v1 = """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            name TEXT,
            email TEXT,
            company TEXT,
            password_hash TEXT,
            webhook_secret TEXT NOT NULL,
            content_mode TEXT NOT NULL DEFAULT 'store',
            status TEXT NOT NULL DEFAULT 'active',
            legal_hold_reason TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            last_login_at INTEGER,
            last_login_ip TEXT,
            erased_at INTEGER
        );
        CREATE UNIQUE INDEX accounts_email ON accounts(email) WHERE email IS NOT NULL;

        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER,
            revoked_at INTEGER
        );
        CREATE INDEX api_keys_account ON api_keys(account_id);

        CREATE TABLE account_numbers (
            number TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            created_at INTEGER NOT NULL
        );
        CREATE INDEX account_numbers_account ON account_numbers(account_id);

        CREATE TABLE messages (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            direction TEXT NOT NULL,
            to_number TEXT NOT NULL,
            from_number TEXT NOT NULL,
            body TEXT,
            body_digest TEXT,
            encoding TEXT NOT NULL,
            segments INTEGER NOT NULL,
            status TEXT NOT NULL,
            error_code INTEGER,
            error_message TEXT,
            status_callback TEXT,
            created_at INTEGER NOT NULL,
            sent_at INTEGER,
            completed_at INTEGER,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX messages_account ON messages(account_id, seq);
        CREATE INDEX messages_pending ON messages(status) WHERE status IN ('queued', 'sent');

        CREATE TABLE opt_outs (
            account_id TEXT NOT NULL REFERENCES accounts(id),
            number TEXT NOT NULL,
            keyword TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, number)
        );

        CREATE TABLE contacts (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            number TEXT NOT NULL,
            name TEXT,
            notes TEXT,
            groups TEXT NOT NULL DEFAULT '[]',
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX contacts_account_number ON contacts(account_id, number);

        CREATE TABLE request_logs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            account_id TEXT,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            status INTEGER NOT NULL,
            latency_us INTEGER NOT NULL,
            ip TEXT
        );
        CREATE INDEX request_logs_at ON request_logs(at);
        CREATE INDEX request_logs_account ON request_logs(account_id, id);

        CREATE TABLE callbacks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            url TEXT NOT NULL,
            payload BLOB NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX callbacks_due ON callbacks(next_attempt_at) WHERE state = 'pending';
        """

    /// Which status changes a message's callback is posted for; NULL means all of them.
    private static let v4 = """
        ALTER TABLE messages ADD COLUMN status_callback_events INTEGER;
        """

    /// An erased account stays erased whatever was in flight when it was erased: a request that
    /// authenticated just before `DELETE /v1/account` cannot write personal data back (a sign-in
    /// address, a name) or add rows that hold some (messages, contacts, numbers, keys, callbacks).
    /// Enforced by the database, so no code path can forget it. Updates that would write personal
    /// data are skipped (`RAISE(IGNORE)`: a deferred sign-in record must not fail the batch it rides
    /// in); inserts fail with a message the API turns into `410 Gone`.
    private static let v6 =
        """
        CREATE TRIGGER accounts_erased_stay_erased BEFORE UPDATE ON accounts
        WHEN OLD.status = 'erased' AND (NEW.name IS NOT NULL OR NEW.email IS NOT NULL OR NEW.company IS NOT NULL
            OR NEW.password_hash IS NOT NULL OR NEW.last_login_ip IS NOT NULL OR NEW.webhook_secret != ''
            OR NEW.status != 'erased')
        BEGIN SELECT RAISE(IGNORE); END;

        """
        + ["messages", "contacts", "account_numbers", "api_keys", "callbacks"].map(refuseInsertForErasedAccount)
        .joined(separator: "\n")

    private static func refuseInsertForErasedAccount(into table: String) -> String {
        """
        CREATE TRIGGER \(table)_not_for_erased_accounts BEFORE INSERT ON \(table)
        WHEN (SELECT status FROM accounts WHERE id = NEW.account_id) = 'erased'
        BEGIN SELECT RAISE(ABORT, '\(erasedAccountMessage)'); END;
        """
    }

    /// Each callback's receiver (`host:port`, so a stalled receiver's backlog can be left out of
    /// the due query; rows queued before are filled in at start), and the webhook secret a rotation
    /// replaced with the end of its overlap window. Erasing an account drops the previous secret
    /// with the current one, and nothing writes one back onto an erased account.
    private static let v7 = """
        ALTER TABLE callbacks ADD COLUMN receiver TEXT;
        ALTER TABLE accounts ADD COLUMN webhook_secret_previous TEXT;
        ALTER TABLE accounts ADD COLUMN webhook_secret_previous_until INTEGER;
        CREATE INDEX accounts_webhook_secret_previous ON accounts(webhook_secret_previous_until)
            WHERE webhook_secret_previous IS NOT NULL;
        CREATE TRIGGER accounts_erasure_drops_previous_webhook_secret AFTER UPDATE OF status ON accounts
        WHEN NEW.status = 'erased' AND (NEW.webhook_secret_previous IS NOT NULL
            OR NEW.webhook_secret_previous_until IS NOT NULL)
        BEGIN
            UPDATE accounts SET webhook_secret_previous = NULL, webhook_secret_previous_until = NULL WHERE id = NEW.id;
        END;
        CREATE TRIGGER accounts_erased_keep_no_previous_webhook_secret BEFORE UPDATE ON accounts
        WHEN OLD.status = 'erased' AND NEW.webhook_secret_previous IS NOT NULL
        BEGIN SELECT RAISE(IGNORE); END;
        """

    /// Sign-in sessions (`POST /v1/login`): short-lived bearer tokens stored as SHA-256, so a
    /// password sign-in no longer mints a permanent API key. Erasing an account deletes its sessions
    /// in the same statement, and none can be added to an erased account.
    /// `submit_started_at`: when the delivery pipeline began handing a `queued` message to the
    /// carrier (ms since the epoch). Written before the carrier is called, so that after a crash or
    /// a restart a message the carrier may already have accepted is reconciled, never blindly
    /// submitted again (`DeliveryPipeline`).
    private static let v9 = """
        ALTER TABLE messages ADD COLUMN submit_started_at INTEGER;
        """

    /// The ids an SMSC gave each message it accepted (`submit_sm_resp`, one per part of a long
    /// message), by connector, so a delivery receipt that names only the SMSC's id finds its message
    /// also after a restart. The ids are the carrier's, normalised by the connector (no personal data).
    private static let v10 = """
        CREATE TABLE carrier_submissions (
            connector TEXT NOT NULL,
            carrier_message_id TEXT NOT NULL,
            message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            part INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (connector, carrier_message_id)
        ) WITHOUT ROWID;
        CREATE INDEX carrier_submissions_message ON carrier_submissions(message_id);
        """

    /// SMPP credentials of customers' ESMEs: a system_id (at most 15 characters, SMPP 3.4 §4.1.1)
    /// and a password hashed like account passwords, revoked by erasure. `smpp_deliveries`: what is
    /// owed to an account's receiver binds (a receipt asked for by `registered_delivery`, or an
    /// inbound message with its body held until delivered), kept until a receiver acknowledges it.
    private static let v11 = """
        CREATE TABLE smpp_credentials (
            system_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        );
        CREATE INDEX smpp_credentials_account ON smpp_credentials(account_id);
        CREATE TABLE smpp_deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            message_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            registered_delivery INTEGER NOT NULL DEFAULT 0,
            body TEXT,
            created_at INTEGER NOT NULL,
            delivered_at INTEGER
        );
        CREATE INDEX smpp_deliveries_pending ON smpp_deliveries(account_id, id) WHERE delivered_at IS NULL;
        CREATE TRIGGER accounts_erasure_ends_smpp AFTER UPDATE OF status ON accounts
        WHEN NEW.status = 'erased'
        BEGIN
            UPDATE smpp_credentials SET revoked_at = COALESCE(revoked_at, NEW.updated_at) WHERE account_id = NEW.id;
            DELETE FROM smpp_deliveries WHERE account_id = NEW.id;
        END;
        """

    /// `inbound_webhook`: where inbound messages to the number are posted, signed and retried like
    /// status callbacks.
    private static let v12 = """
        ALTER TABLE account_numbers ADD COLUMN inbound_webhook TEXT;
        """

    /// `accounts.inbound_webhook`: where inbound messages to the account's numbers without a
    /// webhook of their own are posted; an erased account keeps none.
    private static let v14 = """
        ALTER TABLE accounts ADD COLUMN inbound_webhook TEXT;
        CREATE TRIGGER accounts_erasure_clears_inbound_webhook AFTER UPDATE OF status ON accounts
        WHEN NEW.status = 'erased'
        BEGIN UPDATE accounts SET inbound_webhook = NULL WHERE id = NEW.id; END;
        """

    /// An erased account keeps no sign-in time either: when its data subject last signed in is
    /// usage data about them (GDPR article 4(1)), which the erasure clears with the sign-in address.
    /// The v6 trigger is recreated so that no late sign-in record can write the time back alone,
    /// and accounts erased before this step lose the time they kept.
    private static let v19 = """
        DROP TRIGGER accounts_erased_stay_erased;
        UPDATE accounts SET last_login_at = NULL WHERE status = 'erased';
        CREATE TRIGGER accounts_erased_stay_erased BEFORE UPDATE ON accounts
        WHEN OLD.status = 'erased' AND (NEW.name IS NOT NULL OR NEW.email IS NOT NULL OR NEW.company IS NOT NULL
            OR NEW.password_hash IS NOT NULL OR NEW.last_login_ip IS NOT NULL OR NEW.last_login_at IS NOT NULL
            OR NEW.webhook_secret != '' OR NEW.status != 'erased')
        BEGIN SELECT RAISE(IGNORE); END;
        """

    /// A `deliver_sm` the customer's receiver refused for good (`deliver_sm_resp` with a permanent
    /// code such as `ESME_RX_P_APPN`): settled, not offered again, with the code kept for the record.
    private static let v20 = """
        ALTER TABLE smpp_deliveries ADD COLUMN refused_status INTEGER;
        """

    /// A deletion the customer asked for while an operator legal hold was set: when and by whom
    /// (`api:KEY`, `console`), so that lifting the hold carries it out (GDPR article 17(1): "without
    /// undue delay" once the ground for keeping the data, article 17(3)(e), is gone).
    private static let v18 = """
        ALTER TABLE accounts ADD COLUMN erasure_requested_at INTEGER;
        ALTER TABLE accounts ADD COLUMN erasure_requested_by TEXT;
        """

    /// The web console's sign-in (`docs/console.md`): cookie sessions (only the token's SHA-256 is
    /// kept, with the CSRF token of its forms), each account's second factors (a TOTP secret, an SMS
    /// number, one-use recovery codes stored as SHA-256) and the browsers (a long-lived device
    /// cookie's SHA-256, with the country of the address) that passed one. `account_id` is NULL for
    /// an operator's session. Erasing an account deletes all of its rows.
    private static let v17 = """
        CREATE TABLE console_sessions (
            id TEXT PRIMARY KEY,
            account_id TEXT REFERENCES accounts(id),
            role TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            csrf_token TEXT NOT NULL,
            stage TEXT NOT NULL,
            device_hash TEXT,
            country TEXT NOT NULL,
            address TEXT,
            challenge_hash TEXT,
            challenge_expires_at INTEGER,
            challenge_attempts INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE INDEX console_sessions_account ON console_sessions(account_id, created_at);
        CREATE INDEX console_sessions_expires ON console_sessions(expires_at);
        CREATE TABLE second_factors (
            account_id TEXT PRIMARY KEY REFERENCES accounts(id),
            totp_secret TEXT,
            totp_confirmed_at INTEGER,
            totp_last_step INTEGER,
            sms_number TEXT,
            sms_confirmed_at INTEGER,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE recovery_codes (
            account_id TEXT NOT NULL REFERENCES accounts(id),
            code_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            used_at INTEGER,
            PRIMARY KEY (account_id, code_hash)
        );
        CREATE TABLE known_browsers (
            account_id TEXT NOT NULL REFERENCES accounts(id),
            device_hash TEXT NOT NULL,
            country TEXT NOT NULL,
            first_seen_at INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, device_hash, country)
        );
        CREATE TRIGGER console_sessions_not_for_erased_accounts BEFORE INSERT ON console_sessions
        WHEN NEW.account_id IS NOT NULL AND (SELECT status FROM accounts WHERE id = NEW.account_id) = 'erased'
        BEGIN SELECT RAISE(ABORT, 'switchboard: the account is erased'); END;
        CREATE TRIGGER accounts_erasure_ends_console_sign_in AFTER UPDATE OF status ON accounts
        WHEN NEW.status = 'erased'
        BEGIN
            DELETE FROM console_sessions WHERE account_id = NEW.id;
            DELETE FROM second_factors WHERE account_id = NEW.id;
            DELETE FROM recovery_codes WHERE account_id = NEW.id;
            DELETE FROM known_browsers WHERE account_id = NEW.id;
        END;
        """

    private static let v13 = """
        CREATE TABLE smpp_partials (
            scope TEXT NOT NULL,
            source TEXT NOT NULL,
            destination TEXT NOT NULL,
            reference INTEGER NOT NULL,
            total INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            text TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            PRIMARY KEY (scope, source, destination, reference, total, sequence)
        );
        CREATE INDEX smpp_partials_age ON smpp_partials(received_at);
        CREATE TRIGGER accounts_erasure_ends_smpp_partials AFTER UPDATE OF status ON accounts
        WHEN NEW.status = 'erased'
        BEGIN DELETE FROM smpp_partials WHERE scope = 'account:' || NEW.id; END;
        """

    // Parts are kept as user data (data_coding and octets), so that a character split between two
    // parts is read whole once they are joined. Parts kept before keep their text (data_coding NULL).
    private static let v21 = """
        ALTER TABLE smpp_partials ADD COLUMN data_coding INTEGER;
        ALTER TABLE smpp_partials ADD COLUMN content BLOB;
        """

    // The last part claims its message (completed_at), in the transaction that keeps it, and a
    // stored message's parts stay marked for a while: a copy of a part sent again is taken once.
    private static let v22 = """
        ALTER TABLE smpp_partials ADD COLUMN completed_at INTEGER;
        """

    // A completed message's part that comes again is marked (echoed_at): if a part with other text
    // then reuses the reference, a new message has begun whose leading parts repeat the old one's
    // (a template), and the parts echoed just before it belong to it.
    private static let v23 = """
        ALTER TABLE smpp_partials ADD COLUMN echoed_at INTEGER;
        """

    private static let v8 = """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            last_used_at INTEGER
        );
        CREATE INDEX sessions_account ON sessions(account_id, created_at);
        CREATE INDEX sessions_expires ON sessions(expires_at);
        CREATE TRIGGER sessions_not_for_erased_accounts BEFORE INSERT ON sessions
        WHEN (SELECT status FROM accounts WHERE id = NEW.account_id) = 'erased'
        BEGIN SELECT RAISE(ABORT, 'switchboard: the account is erased'); END;
        CREATE TRIGGER accounts_erasure_ends_sessions AFTER UPDATE OF status ON accounts
        WHEN NEW.status = 'erased'
        BEGIN DELETE FROM sessions WHERE account_id = NEW.id; END;
        """

    /// The error message of an insert refused because its account is erased.
    public static let erasedAccountMessage = "switchboard: the account is erased"
}
