import CaseSyncCore
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerApp
@testable import CaseSyncServerSQLite
import Foundation
import GRDB
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
        #expect(applied == ["v1: accounts, devices, records, outcomes, digests", "v2: change times, compaction horizon, mutation fingerprints", "v3: compaction horizon per scope", "v4: bytes each citizen's records hold", "v5: the register of authorities", "v6: devices that stop working, accounts that are disabled", "v7: the audit trail", "v8: restores from a backup", "v9: erasure may delete from the audit trail", "v10: the change sequence's last place, kept"])
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
            "v5: the sender block of the citizen's letters (kept on this device only)", "v6: a device the server no longer accepts",
        ])
        #expect(existing == tables)
    }
}
