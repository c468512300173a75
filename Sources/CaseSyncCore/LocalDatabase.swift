import CaseSyncSQLite
import Foundation
import GRDB

/// The client's local SQLite database: the server state it last pulled, the outbox of offline
/// edits, dead letters and sync state. One migrator; released migrations are never edited.
public struct LocalDatabase: Sendable {
    let writer: any DatabaseWriter
    /// One sync of this device at a time, across processes too (a lock file beside the database).
    let syncLock: SyncLock
    /// Overlapping sync calls in this process share runs.
    let syncJoiner = SyncJoiner()
    /// How far the running sync has come.
    let progress = ProgressChannel()
    /// Where the device's token is kept (not in the database).
    public let tokens: any TokenStore
    /// The files of attachments: in `<path>.files/` beside a database file.
    public let files: LocalFiles

    /// Opens (creating if needed, readable by this user only: it holds personal data) the database file
    /// at `path` and migrates it. The token goes to `tokens`; by default a file beside the database
    /// (`<path>.token`, mode 0600).
    public init(path: String, tokens: (any TokenStore)? = nil) throws {
        try OwnerOnlyFiles.prepareDatabase(at: path)
        try self.init(
            writer: DatabasePool(path: path, configuration: Self.configuration()), syncLock: SyncLock(path: path + ".sync-lock"),
            tokens: tokens ?? FileTokenStore(path: path + ".token"), files: LocalFiles(directory: URL(fileURLWithPath: path + ".files")))
    }

    /// How a device's database file is opened (public so that the benchmark's SQLite floor opens it alike).
    public static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // A first sync writes every record once; the indexes on ids take random inserts. A page cache
            // that holds them and a log checkpointed every ~80 MB (not every 4 MB) halve its disk work.
            // A large pull truncates the log when it ends (CaseSyncClient.largePull).
            try db.execute(sql: "PRAGMA cache_size = -65536")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 20000")
        }
        return configuration
    }

    /// An in-memory database, for tests.
    public static func inMemory(tokens: any TokenStore = MemoryTokenStore()) throws -> LocalDatabase {
        try LocalDatabase(writer: DatabaseQueue(), tokens: tokens, files: .temporary())
    }

    init(writer: any DatabaseWriter, syncLock: SyncLock = SyncLock(path: nil), tokens: any TokenStore, files: LocalFiles) throws {
        self.writer = writer
        self.files = files
        self.syncLock = syncLock
        self.tokens = tokens
        try Self.migrator.migrate(writer)
        // A device from before the token store kept its token in the database: it moves to the store
        // (if the store cannot take it now, it stays where it is and is used from there).
        if let token = try writer.read({ db in try String.fetchOne(db, sql: "SELECT token FROM account WHERE token <> ''") }),
           (try? tokens.write(token)) != nil, (try? tokens.read()) == token
        {
            try writer.write { db in try db.execute(sql: "UPDATE account SET token = ''") }
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: account, records, outbox, dead letters") { db in
            try db.execute(
                sql: """
                    CREATE TABLE account (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        server_url TEXT NOT NULL,
                        token TEXT NOT NULL,
                        client_id TEXT NOT NULL,
                        account_id TEXT NOT NULL,
                        role TEXT NOT NULL,
                        authority_id TEXT,
                        display_name TEXT NOT NULL,
                        cursor TEXT,
                        next_mutation_id INTEGER NOT NULL DEFAULT 1,
                        hlc TEXT,
                        last_sync_at INTEGER,
                        last_sync_error TEXT
                    );
                    -- The server's state as last pulled: live records only (tombstones delete rows).
                    CREATE TABLE records (
                        id TEXT PRIMARY KEY,
                        type TEXT NOT NULL,
                        case_id TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        body BLOB NOT NULL
                    );
                    CREATE INDEX records_case ON records(case_id, type);
                    CREATE INDEX records_type ON records(type);
                    -- Edits not yet acknowledged by the server, in mutation-id order.
                    CREATE TABLE outbox (
                        mutation_id INTEGER PRIMARY KEY,
                        case_id TEXT NOT NULL,
                        body BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX outbox_case ON outbox(case_id);
                    -- Edits the server rejected, with its reason; they never block the outbox.
                    CREATE TABLE dead_letters (
                        mutation_id INTEGER PRIMARY KEY,
                        case_id TEXT NOT NULL,
                        body BLOB NOT NULL,
                        code TEXT NOT NULL,
                        message TEXT NOT NULL,
                        rejected_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2: running checksum of the pulled state") { db in
            try db.execute(
                sql: """
                    ALTER TABLE account ADD COLUMN digest_count INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE account ADD COLUMN digest_sum INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v3: the correction of this device's clock by the server's") { db in
            try db.execute(sql: "ALTER TABLE account ADD COLUMN clock_offset_ms INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v4: the server's register of authorities, for use offline") { db in
            try db.execute(
                sql: """
                    CREATE TABLE authority_register (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        version TEXT NOT NULL,
                        body BLOB NOT NULL,
                        fetched_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v5: the sender block of the citizen's letters (kept on this device only)") { db in
            try db.execute(
                sql: """
                    CREATE TABLE sender_profile (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        name TEXT,
                        postal_address TEXT NOT NULL DEFAULT '',
                        email TEXT,
                        phone TEXT
                    );
                    """)
        }
        migrator.registerMigration("v6: a device the server no longer accepts") { db in
            // Set when the server answers device_revoked or session_expired: the device is signed out
            // (its cases stay readable here) until it logs in again.
            try db.execute(sql: "ALTER TABLE account ADD COLUMN signed_out TEXT")
        }
        migrator.registerMigration("v7: a re-pull that keeps the cases readable") { db in
            // A re-pull of the whole scope (a checksum that disagrees, a compacted cursor) keeps what the
            // device holds until it is done: it starts a new epoch, every record it brings (or finds
            // unchanged) is marked with it, and at its end the records it did not bring are dropped.
            // repairing: a re-pull is under way (one cut off goes on at the next sync).
            try db.execute(
                sql: """
                    ALTER TABLE records ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE account ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE account ADD COLUMN repairing INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v8: the index of cases that screens read") { db in
            try db.execute(sql: CaseIndex.schema)
        }
        migrator.registerMigration("v9: files of attachments waiting to be sent") { db in
            try db.execute(
                sql: """
                    -- The file each attach mutation names, until the server applied it (a refused one keeps it:
                    -- its file stays on the device).
                    CREATE TABLE file_uploads (
                        mutation_id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, content_type TEXT NOT NULL
                    );
                    -- Why the server refused to take a file (its attach is then refused for that reason).
                    CREATE TABLE file_refusals (sha256 TEXT PRIMARY KEY, code TEXT NOT NULL, message TEXT NOT NULL);
                    """)
        }
        return migrator
    }
}
