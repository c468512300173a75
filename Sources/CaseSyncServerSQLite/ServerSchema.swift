import GRDB

/// The server's SQLite schema. Released migrations are never edited; a change is a new migration.
enum ServerSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: accounts, devices, records, outcomes, digests") { db in
            try db.execute(
                sql: """
                    CREATE TABLE accounts (
                        id TEXT PRIMARY KEY,
                        role TEXT NOT NULL CHECK (role IN ('citizen', 'officer')),
                        authority_id TEXT,
                        display_name TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE login_codes (
                        code_hash TEXT PRIMARY KEY,
                        account_id TEXT NOT NULL REFERENCES accounts(id),
                        expires_at INTEGER NOT NULL,
                        redeemed_at INTEGER
                    );
                    CREATE TABLE devices (
                        client_id TEXT PRIMARY KEY,
                        account_id TEXT NOT NULL REFERENCES accounts(id),
                        token_hash TEXT NOT NULL UNIQUE,
                        device_name TEXT,
                        created_at INTEGER NOT NULL,
                        last_mutation_id INTEGER NOT NULL DEFAULT 0
                    );
                    -- The first outcome of every mutation, so a repeated push answers the same.
                    CREATE TABLE mutation_outcomes (
                        client_id TEXT NOT NULL,
                        mutation_id INTEGER NOT NULL,
                        outcome BLOB NOT NULL,
                        PRIMARY KEY (client_id, mutation_id)
                    ) WITHOUT ROWID;
                    -- Current state of every record. seq is the record's place in the change sequence;
                    -- citizen_id / authority_id are set when that side may see the record.
                    CREATE TABLE records (
                        id TEXT PRIMARY KEY,
                        type TEXT NOT NULL,
                        case_id TEXT NOT NULL,
                        citizen_id TEXT,
                        authority_id TEXT,
                        seq INTEGER NOT NULL UNIQUE,
                        version INTEGER NOT NULL,
                        deleted INTEGER NOT NULL DEFAULT 0,
                        body BLOB
                    );
                    CREATE INDEX records_citizen_seq ON records(citizen_id, seq) WHERE citizen_id IS NOT NULL;
                    CREATE INDEX records_authority_seq ON records(authority_id, seq) WHERE authority_id IS NOT NULL;
                    CREATE INDEX records_case ON records(case_id);
                    -- Running checksum of the live records each scope sees ('c:' citizen, 'a:' authority).
                    CREATE TABLE scope_digests (
                        scope TEXT PRIMARY KEY,
                        count INTEGER NOT NULL,
                        sum INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2: change times, compaction horizon, mutation fingerprints") { db in
            try db.execute(
                sql: """
                    ALTER TABLE records ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX records_tombstones ON records(changed_at) WHERE deleted = 1;
                    -- Single-row facts about the store; compacted_through: tombstones at or below
                    -- this seq may be gone, so a cursor below it must pull from the start.
                    CREATE TABLE server_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        compacted_through INTEGER NOT NULL DEFAULT 0
                    );
                    INSERT INTO server_state (id) VALUES (1);
                    -- A hash of each mutation's content, to tell a true retry from a reused id.
                    ALTER TABLE mutation_outcomes ADD COLUMN fingerprint INTEGER;
                    """)
        }
        migrator.registerMigration("v3: compaction horizon per scope") { db in
            try db.execute(
                sql: """
                    -- The newest tombstone compaction dropped from each scope: a cursor of that scope below it
                    -- must pull from the start. Per scope, so one scope's compaction never forces another's
                    -- devices to resync (or tells them anything about it).
                    CREATE TABLE scope_horizons (
                        scope TEXT PRIMARY KEY,
                        compacted_through INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v4: bytes each citizen's records hold") { db in
            try db.execute(
                sql: """
                    ALTER TABLE scope_digests ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
                    UPDATE scope_digests SET bytes = (
                        SELECT COALESCE(SUM(length(body)), 0) FROM records
                        WHERE citizen_id = substr(scope_digests.scope, 3))
                    WHERE scope LIKE 'c:%';
                    """)
        }
        migrator.registerMigration("v5: the register of authorities") { db in
            try db.execute(
                sql: """
                    -- The authorities this server serves: where objections go. postal_address holds the
                    -- address lines separated by newlines.
                    CREATE TABLE authorities (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        postal_address TEXT NOT NULL,
                        tax_official TEXT
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v6: devices that stop working, accounts that are disabled") { db in
            try db.execute(
                sql: """
                    -- last_seen_at: the device's last use, written down at most every 15 minutes.
                    -- revoked_at / revoked_reason: when and why its token stopped working (logout, revoked,
                    -- expired, account_disabled); the row stays, as its mutations' outcomes do.
                    ALTER TABLE devices ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
                    UPDATE devices SET last_seen_at = created_at;
                    ALTER TABLE devices ADD COLUMN revoked_at INTEGER;
                    ALTER TABLE devices ADD COLUMN revoked_reason TEXT;
                    CREATE INDEX devices_account ON devices(account_id);
                    ALTER TABLE accounts ADD COLUMN disabled_at INTEGER;
                    """)
        }
        migrator.registerMigration("v7: the audit trail") { db in
            try db.execute(
                sql: """
                    -- Who did what, when, from where: never content (AuditEntry). Append-only.
                    CREATE TABLE audit_log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at INTEGER NOT NULL,
                        actor TEXT NOT NULL,
                        account_id TEXT,
                        client_id TEXT,
                        address TEXT,
                        action TEXT NOT NULL,
                        subject TEXT,
                        case_id TEXT,
                        operation TEXT,
                        fields TEXT,
                        outcome TEXT
                    );
                    CREATE INDEX audit_log_case ON audit_log(case_id, id) WHERE case_id IS NOT NULL;
                    CREATE INDEX audit_log_account ON audit_log(account_id, id) WHERE account_id IS NOT NULL;
                    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                    """)
        }
        migrator.registerMigration("v8: restores from a backup") { db in
            try db.execute(
                sql: """
                    -- restored_floor: set when the database was restored from a backup; every cursor below it
                    -- must pull again from the start, and new changes take places above it (RestoreRules).
                    ALTER TABLE server_state ADD COLUMN restored_floor INTEGER NOT NULL DEFAULT 0;
                    -- gap_allowed: the device may have had mutations acknowledged that the backup does not hold;
                    -- its next push may skip them, once.
                    ALTER TABLE devices ADD COLUMN gap_allowed INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v9: erasure may delete from the audit trail") { db in
            try db.execute(
                sql: """
                    -- erasing: set only inside the transaction of an erasure, which alone may delete entries.
                    ALTER TABLE server_state ADD COLUMN erasing INTEGER NOT NULL DEFAULT 0;
                    DROP TRIGGER audit_log_no_delete;
                    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                        WHEN (SELECT erasing FROM server_state) = 0
                        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                    """)
        }
        migrator.registerMigration("v10: the change sequence's last place, kept") { db in
            try db.execute(
                sql: """
                    -- last_seq: the last place handed out. Taken from MAX(seq) before, which went back when
                    -- compaction or an erasure removed the newest records, so a place could be handed out twice.
                    ALTER TABLE server_state ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
                    UPDATE server_state SET last_seq = MAX(COALESCE((SELECT MAX(seq) FROM records), 0), restored_floor, compacted_through);
                    """)
        }
        migrator.registerMigration("v11: kept outcomes without conflicting values") { db in
            try db.execute(
                sql: """
                    -- An outcome is kept for a device that sends its mutation again (MutationOutcome.kept):
                    -- its conflicts name field, policy and winner, not the values, which held content.
                    UPDATE mutation_outcomes SET outcome = CAST(json_set(CAST(outcome AS TEXT), '$.conflicts', json((
                        SELECT json_group_array(json_remove(value, '$.clientValue', '$.serverValue'))
                        FROM json_each(CAST(outcome AS TEXT), '$.conflicts')))) AS BLOB)
                    WHERE json_type(CAST(outcome AS TEXT), '$.conflicts') = 'array';
                    """)
        }
        migrator.registerMigration("v12: attachments") { db in
            try db.execute(
                sql: """
                    -- An account's upload of a blob (the bytes are in the blob store): begun with the size it
                    -- declared; whole once completed_at is set, and then the account may attach it.
                    -- attached_at: an attachment of the account names it (it no longer counts as pending).
                    CREATE TABLE uploads (
                        account_id TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        started_at INTEGER NOT NULL,
                        content_type TEXT,
                        completed_at INTEGER,
                        attached_at INTEGER,
                        PRIMARY KEY (account_id, sha256)
                    );
                    CREATE INDEX uploads_sha256 ON uploads(sha256);
                    CREATE INDEX uploads_started ON uploads(started_at);
                    -- Blobs that deletions released, for the sweep to delete if nothing else refers to them.
                    CREATE TABLE blob_sweeps (sha256 TEXT PRIMARY KEY);
                    CREATE INDEX records_attachments ON records(case_id) WHERE type = 'attachment' AND deleted = 0;
                    """)
        }
        return migrator
    }
}
