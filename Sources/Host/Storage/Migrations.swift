import GRDB

/// Versioned schema. A migration, once shipped, is never edited: add a new one.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-core") { db in
            try db.execute(sql: v1)
        }
        migrator.registerMigration("v2-addons") { db in
            try db.execute(sql: v2)
        }
        migrator.registerMigration("v3-ledger-checkpoints-erasure") { db in
            try db.execute(sql: v3)
        }
        migrator.registerMigration("v4-callback-events") { db in
            try db.execute(sql: v4)
        }
        return migrator
    }

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

    /// Which status changes a message's callback is posted for; NULL means all of them.
    private static let v4 = """
        ALTER TABLE messages ADD COLUMN status_callback_events INTEGER;
        """
}
