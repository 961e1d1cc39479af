import GRDB
import SwitchboardCore

/// The add-on platform's own tables: consents, the event log and its cursors, the ledger and its checkpoints, stored
/// records, erasure requests and tasks. No other target reads or writes them.
package enum AddonSchema {
    package static let v2Addons = SchemaMigration("v2-addons", sql: v2)
    package static let v3LedgerCheckpointsErasure = SchemaMigration("v3-ledger-checkpoints-erasure", sql: v3)
    package static let v5ConsentTermsRecipients = SchemaMigration("v5-consent-terms-recipients", sql: v5)
    package static let v15SettledErasuresForgetTheNumber = SchemaMigration(
        "v15-settled-erasures-forget-the-number", sql: v15)
    package static let v16EventLogWithCursors = SchemaMigration("v16-event-log-with-cursors", sql: v16)
    /// The platform's steps, in order.
    package static let migrations = [
        v2Addons, v3LedgerCheckpointsErasure, v5ConsentTermsRecipients, v15SettledErasuresForgetTheNumber,
        v16EventLogWithCursors,
    ]

    private static let v2 = """
        CREATE TABLE addon_consents (
            rev INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            addon_id TEXT NOT NULL,
            addon_version TEXT NOT NULL,
            action TEXT NOT NULL,
            fields TEXT NOT NULL,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL
        );
        CREATE INDEX addon_consents_current ON addon_consents(account_id, addon_id, rev);

        CREATE TABLE addon_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            addon_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            event BLOB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX addon_outbox_addon ON addon_outbox(addon_id, seq);

        CREATE TABLE ledger (
            seq INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            addon_id TEXT NOT NULL,
            addon_version TEXT NOT NULL,
            account_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            fields TEXT NOT NULL,
            consent_id TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX ledger_addon ON ledger(addon_id, at);
        CREATE INDEX ledger_account ON ledger(account_id, at);

        CREATE TABLE addon_records (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            addon_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            key TEXT,
            json TEXT NOT NULL,
            at INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX addon_records_key ON addon_records(addon_id, account_id, kind, key) WHERE key IS NOT NULL;
        CREATE INDEX addon_records_account ON addon_records(account_id, addon_id, kind, id);
        """

    private static let v3 = """
        CREATE TABLE ledger_checkpoints (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL,
            at INTEGER NOT NULL,
            public_key TEXT NOT NULL,
            signature TEXT NOT NULL
        );
        CREATE INDEX ledger_checkpoints_seq ON ledger_checkpoints(kind, seq);

        ALTER TABLE addon_outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'event';

        CREATE TABLE erasure_requests (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            subject_kind TEXT NOT NULL,
            subject_value TEXT,
            origin TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX erasure_requests_account ON erasure_requests(account_id, created_at);

        CREATE TABLE erasure_tasks (
            request_id TEXT NOT NULL REFERENCES erasure_requests(id),
            addon_id TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            detail TEXT,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (request_id, addon_id)
        );
        """

    /// Grants keep the terms shown (`ConsentTerms` as JSON). `addon_recipients` is the durable
    /// "this add-on received data about this account" record that ledger compaction keeps: erasure
    /// requests go to every add-on named here, with the phone numbers in the form it received them
    /// (`numbers`: none, pseudonym or clear, the widest seen). It starts from the ledger as it is.
    private static let v5 = """
        ALTER TABLE addon_consents ADD COLUMN terms TEXT;

        CREATE TABLE addon_recipients (
            addon_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            first_at INTEGER NOT NULL,
            last_at INTEGER NOT NULL,
            numbers TEXT NOT NULL,
            PRIMARY KEY (addon_id, account_id)
        ) WITHOUT ROWID;
        INSERT INTO addon_recipients (addon_id, account_id, first_at, last_at, numbers)
            SELECT addon_id, account_id, MIN(at), MAX(at),
                CASE
                    WHEN MAX((',' || fields) LIKE '%,usage.to:clear%' OR (',' || fields) LIKE '%,usage.from:clear%')
                        THEN 'clear'
                    WHEN MAX((',' || fields) LIKE '%,usage.to:%' OR (',' || fields) LIKE '%,usage.from:%')
                        THEN 'pseudonym'
                    ELSE 'none'
                END
            FROM ledger WHERE event_type != 'erasure' GROUP BY addon_id, account_id;
        """

    /// Erasure requests whose add-ons have all answered (or that had none to ask) no longer keep the
    /// erased number (`ErasureRequests.settle` does the same for each request from now on).
    private static let v15 = """
        UPDATE erasure_requests SET subject_value = NULL
        WHERE subject_value IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM erasure_tasks WHERE request_id = erasure_requests.id AND state = 'pending');
        """

    /// One log for every add-on instead of an outbox row per event and recipient (`EventLog`).
    /// Waiting outbox rows move over in their order, one log row each, for the add-on they were
    /// for; cursors start before them. A retry's backoff does not carry over: the row is offered
    /// once more at start.
    private static let v16 = """
        CREATE TABLE addon_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            recipients TEXT NOT NULL,
            payload BLOB NOT NULL
        );
        CREATE TABLE addon_cursors (
            addon_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        INSERT INTO addon_log (account_id, kind, recipients, payload)
            SELECT account_id, kind, ',' || addon_id || ',', event FROM addon_outbox ORDER BY seq;
        DROP TABLE addon_outbox;
        """
}
