import CaseSyncServer
import Logging
import PostgresNIO

/// The PostgreSQL schema, the same tables as the SQLite store's (types aside) and the change feed's
/// counter. Released migrations are never edited; a change is a new one. Instances that start
/// together migrate once: the first takes an advisory lock, the others wait for it and find the
/// work done.
enum PostgresSchema {
    static let migrations: [(name: String, sql: [String])] = [
        (
            "v1: accounts, devices, records, outcomes, digests, horizons, authorities, change feed",
            [
                """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY,
                    role TEXT NOT NULL CHECK (role IN ('citizen', 'officer')),
                    authority_id TEXT,
                    display_name TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE login_codes (
                    code_hash TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    expires_at BIGINT NOT NULL,
                    redeemed_at BIGINT
                )
                """,
                """
                CREATE TABLE devices (
                    client_id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    token_hash TEXT NOT NULL UNIQUE,
                    device_name TEXT,
                    created_at BIGINT NOT NULL,
                    last_mutation_id BIGINT NOT NULL DEFAULT 0
                )
                """,
                // The first outcome of every mutation, so a repeated push answers the same.
                """
                CREATE TABLE mutation_outcomes (
                    client_id TEXT NOT NULL,
                    mutation_id BIGINT NOT NULL,
                    outcome BYTEA NOT NULL,
                    fingerprint BIGINT,
                    PRIMARY KEY (client_id, mutation_id)
                )
                """,
                // Current state of every record; seq is its place in the change feed.
                """
                CREATE TABLE records (
                    id TEXT PRIMARY KEY,
                    type TEXT NOT NULL,
                    case_id TEXT NOT NULL,
                    citizen_id TEXT,
                    authority_id TEXT,
                    seq BIGINT NOT NULL UNIQUE,
                    version BIGINT NOT NULL,
                    deleted BOOLEAN NOT NULL DEFAULT FALSE,
                    body BYTEA,
                    changed_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX records_citizen_seq ON records (citizen_id, seq) WHERE citizen_id IS NOT NULL",
                "CREATE INDEX records_authority_seq ON records (authority_id, seq) WHERE authority_id IS NOT NULL",
                "CREATE INDEX records_case ON records (case_id)",
                "CREATE INDEX records_tombstones ON records (changed_at) WHERE deleted",
                """
                CREATE TABLE scope_digests (
                    scope TEXT PRIMARY KEY,
                    count BIGINT NOT NULL,
                    sum BIGINT NOT NULL,
                    bytes BIGINT NOT NULL DEFAULT 0
                )
                """,
                "CREATE TABLE scope_horizons (scope TEXT PRIMARY KEY, compacted_through BIGINT NOT NULL)",
                """
                CREATE TABLE authorities (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    postal_address TEXT NOT NULL,
                    tax_official TEXT
                )
                """,
                // The change feed's last place, and the newest change compaction dropped. A push takes
                // its places from last_seq at the end of its transaction and holds the row's lock until
                // it commits: pushes commit in the order of their places (PROTOCOL.md §9).
                """
                CREATE TABLE change_feed (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    last_seq BIGINT NOT NULL,
                    compacted_through BIGINT NOT NULL DEFAULT 0
                )
                """,
                "INSERT INTO change_feed (id, last_seq) VALUES (1, 0)",
            ]
        ),
        (
            "v2: devices that stop working, accounts that are disabled",
            [
                // last_seen_at: the device's last use, written down at most every 15 minutes. revoked_at /
                // revoked_reason: when and why its token stopped working; the row stays, as its outcomes do.
                "ALTER TABLE devices ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0",
                "UPDATE devices SET last_seen_at = created_at",
                "ALTER TABLE devices ADD COLUMN revoked_at BIGINT",
                "ALTER TABLE devices ADD COLUMN revoked_reason TEXT",
                "CREATE INDEX devices_account ON devices (account_id)",
                "ALTER TABLE accounts ADD COLUMN disabled_at BIGINT",
            ]
        ),
        (
            "v3: the audit trail",
            [
                // Who did what, when, from where: never content (AuditEntry). Append-only.
                """
                CREATE TABLE audit_log (
                    id BIGSERIAL PRIMARY KEY,
                    at BIGINT NOT NULL,
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
                )
                """,
                "CREATE INDEX audit_log_case ON audit_log (case_id, id) WHERE case_id IS NOT NULL",
                "CREATE INDEX audit_log_account ON audit_log (account_id, id) WHERE account_id IS NOT NULL",
                """
                CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$
                """,
                """
                CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
                FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
                """,
            ]
        ),
        (
            "v4: restores from a backup",
            [
                // restored_floor: see the SQLite schema's v8 (RestoreRules).
                "ALTER TABLE change_feed ADD COLUMN restored_floor BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE devices ADD COLUMN gap_allowed BOOLEAN NOT NULL DEFAULT FALSE",
            ]
        ),
        (
            "v5: erasure may delete from the audit trail",
            [
                // Only a transaction that set casesync.erasing (an erasure) may delete entries.
                """
                CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'DELETE' AND current_setting('casesync.erasing', true) = 'on' THEN RETURN NULL; END IF;
                    RAISE EXCEPTION 'the audit trail is append-only';
                END $$
                """,
            ]
        ),
        (
            "v6: kept outcomes without conflicting values",
            [
                // See the SQLite schema's v11 (MutationOutcome.kept).
                """
                UPDATE mutation_outcomes m SET outcome = convert_to(jsonb_set(j.o, '{conflicts}', (
                    SELECT jsonb_agg(c - 'clientValue' - 'serverValue') FROM jsonb_array_elements(j.o -> 'conflicts') c))::text, 'UTF8')
                FROM (SELECT client_id, mutation_id, convert_from(outcome, 'UTF8')::jsonb AS o FROM mutation_outcomes) j
                WHERE m.client_id = j.client_id AND m.mutation_id = j.mutation_id AND jsonb_typeof(j.o -> 'conflicts') = 'array'
                """,
            ]
        ),
        (
            "v7: attachments",
            [
                // See the SQLite schema's v12. The bytes: blob_chunks for whole blobs, upload_chunks for
                // uploads arriving (PostgresBlobStore), shared by every instance.
                """
                CREATE TABLE uploads (
                    account_id TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    size BIGINT NOT NULL,
                    started_at BIGINT NOT NULL,
                    content_type TEXT,
                    completed_at BIGINT,
                    attached_at BIGINT,
                    PRIMARY KEY (account_id, sha256)
                )
                """,
                "CREATE INDEX uploads_sha256 ON uploads (sha256)",
                "CREATE INDEX uploads_started ON uploads (started_at)",
                "CREATE TABLE blob_sweeps (sha256 TEXT PRIMARY KEY)",
                "CREATE INDEX records_attachments ON records (case_id) WHERE type = 'attachment' AND NOT deleted",
                """
                CREATE TABLE blob_chunks (
                    sha256 TEXT NOT NULL,
                    start_at BIGINT NOT NULL,
                    bytes BYTEA NOT NULL,
                    PRIMARY KEY (sha256, start_at)
                )
                """,
                """
                CREATE TABLE upload_chunks (
                    account_id TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    start_at BIGINT NOT NULL,
                    bytes BYTEA NOT NULL,
                    PRIMARY KEY (account_id, sha256, start_at)
                )
                """,
                // Chunks are written whole and read whole: stored as they come, not compressed again.
                "ALTER TABLE blob_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL",
                "ALTER TABLE upload_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL",
            ]
        ),
    ]

    /// Applies the migrations not yet applied, each in its own transaction.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            // One instance migrates at a time (the lock ends with the transaction).
            try await connection.query("SELECT pg_advisory_xact_lock(2071966)", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied: Set<String> = []
            for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: logger).decode(String.self) {
                applied.insert(name)
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: logger)
            }
        }
    }

    /// The migrations applied so far, oldest first.
    static func applied(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        var names: [String] = []
        let rows = try await client.query(
            "SELECT name FROM schema_migrations ORDER BY applied_at, name", logger: logger)
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }
}
