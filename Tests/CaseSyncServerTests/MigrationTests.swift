import CaseSyncCore
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerApp
@testable import CaseSyncServerPostgres
@testable import CaseSyncServerSQLite
import CaseSyncTesting
import Foundation
import GRDB
import PostgresNIO
import Testing

@Suite("Database migrations")
struct MigrationTests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func theServerCreatesItsDataDirectoryAndAWALDatabaseAndReopensIt() async throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let configuration = ServerConfiguration(dataDirectory: root.appendingPathComponent("data/nested").path)
        let store = try Backend.openSQLite(configuration, logger: quietLogger)
        let invitation = try await store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
        // Opening again applies nothing twice and keeps the data.
        let reopened = try Backend.openSQLite(configuration, logger: quietLogger)
        let device = try await reopened.redeem(RedeemRequest(code: invitation.code, deviceName: nil))
        #expect(device.account.displayName == "Anna")
        let queue = try DatabaseQueue(path: configuration.databasePath)
        let tables = ["accounts", "login_codes", "devices", "mutation_outcomes", "records", "scope_digests", "server_state", "scope_horizons", "authorities"]
        let (mode, applied, existing, tokenHashes, codeHashes) = try await queue.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"),
             try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
             try tables.filter { try db.tableExists($0) },
             try String.fetchAll(db, sql: "SELECT token_hash FROM devices"),
             try String.fetchAll(db, sql: "SELECT code_hash FROM login_codes"))
        }
        #expect(mode == "wal")
        #expect(applied == ["v1: accounts, devices, records, outcomes, digests", "v2: change times, compaction horizon, mutation fingerprints", "v3: compaction horizon per scope", "v4: bytes each citizen's records hold", "v5: the register of authorities", "v6: devices that stop working, accounts that are disabled", "v7: the audit trail", "v8: restores from a backup", "v9: erasure may delete from the audit trail", "v10: the change sequence's last place, kept", "v11: kept outcomes without conflicting values", "v12: attachments"])
        #expect(existing == tables)
        // Only hashes of codes and tokens are stored.
        #expect(tokenHashes.count == 1 && tokenHashes[0].count == 64 && tokenHashes[0] != device.token)
        #expect(codeHashes.count == 1 && !codeHashes[0].contains(invitation.code))
    }

    /// Devices logged in before devices could stop keep working: their last use is taken as their login.
    @Test func devicesFromBeforeRevocationKeepWorkingAfterTheUpgrade() async throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent("casesync.sqlite").path
        let now = Timestamp(iso8601: "2026-11-02T09:00:00.000Z")!
        let queue = try DatabaseQueue(path: path)
        try ServerSchema.migrator.migrate(queue, upTo: "v5: the register of authorities")
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO accounts (id, role, display_name, created_at) VALUES ('a1', 'citizen', 'Anna', 0)")
            try db.execute(
                sql: "INSERT INTO devices (client_id, account_id, token_hash, created_at) VALUES ('k3vq7m2xrt6hbd4a', 'a1', ?, ?)",
                arguments: [AccountRules.tokenHash("cst_old"), now.millisecondsSince1970 - 86_400_000])
        }
        var environment = ServerEnvironment.live
        environment.now = { now }
        let store = try SQLiteSyncStore(path: path, environment: environment, logger: quietLogger)
        #expect(try await store.session(token: "cst_old")?.clientId == "k3vq7m2xrt6hbd4a")
        let device = try #require(try await store.devices(accountId: "a1").first)
        // (Taken as used at login, a day ago, it had not expired; this use is written down.)
        #expect(device.isActive && device.lastSeenAt == now)
    }

    /// Outcomes kept from before hold conflicting values (anyone's words): the upgrade takes them out.
    static let outcomeWithValues = #"{"mutationId":1,"status":"merged","version":3,"conflicts":[{"field":"grounds","policy":"citizen_prose","winner":"server","clientValue":"anna@example.org","serverValue":"My \"permit\""}]}"#
    static let outcomeApplied = #"{"mutationId":2,"status":"applied","version":4}"#

    static func checkKept(_ stored: [Data]) throws {
        let decoded = try stored.map { try WireCoding.decoder().decode(MutationOutcome.self, from: $0) }
        let original = try [outcomeWithValues, outcomeApplied].map { try WireCoding.decoder().decode(MutationOutcome.self, from: Data($0.utf8)) }
        #expect(decoded == original.map(\.kept) && decoded[0] != original[0])
        #expect(!stored.contains { String(decoding: $0, as: UTF8.self).contains("anna@") })
    }

    @Test func keptOutcomesLoseTheirConflictingValuesOnTheUpgrade() async throws {
        let queue = try DatabaseQueue()
        try ServerSchema.migrator.migrate(queue, upTo: "v10: the change sequence's last place, kept")
        try await queue.write { db in
            for (id, outcome) in [Self.outcomeWithValues, Self.outcomeApplied].enumerated() {
                try db.execute(
                    sql: "INSERT INTO mutation_outcomes (client_id, mutation_id, outcome) VALUES ('k3vq7m2xrt6hbd4a', ?, ?)",
                    arguments: [id + 1, Data(outcome.utf8)])
            }
        }
        try ServerSchema.migrator.migrate(queue)
        try Self.checkKept(try await queue.read { try Data.fetchAll($0, sql: "SELECT outcome FROM mutation_outcomes ORDER BY mutation_id") })
    }

    @Test(.enabled(if: TestPostgres.url != nil)) func keptOutcomesLoseTheirConflictingValuesOnThePostgreSQLUpgrade() async throws {
        let url = try await TestPostgres.freshSchema()
        let store = try PostgresSyncStore(url: url, environment: .live, limits: ProtocolLimits(), maxConnections: 2, logger: quietLogger)
        let lifetime = StoreLifetime(Task { try? await store.run() })
        defer { _ = lifetime }
        // The database as the release before left it: every migration before v6, and outcomes with values.
        let earlier = PostgresSchema.migrations.prefix { $0.name != "v6: kept outcomes without conflicting values" }
        #expect(earlier.count == 5)
        try await store.client.withTransaction(logger: quietLogger) { connection in
            try await connection.query("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: quietLogger)
            for migration in earlier {
                for statement in migration.sql { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: quietLogger) }
                try await connection.query("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: quietLogger)
            }
            for (id, outcome) in [Self.outcomeWithValues, Self.outcomeApplied].enumerated() {
                try await connection.query(
                    "INSERT INTO mutation_outcomes (client_id, mutation_id, outcome) VALUES ('k3vq7m2xrt6hbd4a', \(Int64(id + 1)), \(ByteBuffer(bytes: Data(outcome.utf8))))",
                    logger: quietLogger)
            }
        }
        try await store.migrate()
        var stored: [Data] = []
        for try await outcome in try await store.client.query("SELECT outcome FROM mutation_outcomes ORDER BY mutation_id", logger: quietLogger).decode(ByteBuffer.self) {
            stored.append(Data(outcome.readableBytesView))
        }
        try Self.checkKept(stored)
    }

    @Test func theClientDatabaseMigratesOnceAndKeepsItsState() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent("casesync.sqlite").path
        _ = try LocalDatabase(path: path)
        _ = try LocalDatabase(path: path)
        let queue = try DatabaseQueue(path: path)
        let tables = ["account", "records", "outbox", "dead_letters", "authority_register", "sender_profile"]
        let (applied, existing) = try queue.read { db in
            (try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"), try tables.filter { try db.tableExists($0) })
        }
        #expect(applied == ["v1: account, records, outbox, dead letters", "v2: running checksum of the pulled state", "v3: the correction of this device's clock by the server's", "v4: the server's register of authorities, for use offline",
            "v5: the sender block of the citizen's letters (kept on this device only)", "v6: a device the server no longer accepts", "v7: a re-pull that keeps the cases readable",
            "v8: the index of cases that screens read", "v9: files of attachments waiting to be sent",
        ])
        #expect(existing == tables)
    }

    @Test func aTokenKeptInTheDatabaseMovesToTheTokenFile() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent("casesync.sqlite").path
        _ = try LocalDatabase(path: path)
        // A device as an earlier version left it: its token in the account's row.
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                INSERT INTO account (id, server_url, token, client_id, account_id, role, display_name)
                VALUES (1, 'http://127.0.0.1:8080', 'secret-token', 'client', 'account', 'citizen', 'Anna')
                """)
        }
        let database = try LocalDatabase(path: path)
        #expect(try database.tokens.read() == "secret-token")
        #expect(try DatabaseQueue(path: path).read { db in try String.fetchOne(db, sql: "SELECT token FROM account") } == "")
        let mode = try FileManager.default.attributesOfItem(atPath: path + ".token")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        // Replaced whole, and forgotten.
        try database.tokens.write("another")
        #expect(try FileTokenStore(path: path + ".token").read() == "another")
        try database.tokens.delete()
        try database.tokens.delete()
        #expect(try database.tokens.read() == nil)
    }
}
