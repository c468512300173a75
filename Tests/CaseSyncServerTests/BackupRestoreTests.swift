import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerApp
import CaseSyncServerSQLite
import CaseSyncTesting
import Foundation
import Testing

/// A backup taken while serving, restored into a fresh server: devices whose cursors are ahead of it
/// pull again, nothing new passes a cursor unseen, and a device's next push may skip what the lost
/// history acknowledged.
@Suite("Backup and restore")
struct BackupRestoreTests {
    @Test func aDeviceAheadOfTheRestoredServerPullsAgainAndMissesNothing() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-restore-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let determinism = Determinism()
        let serving = try Backend.openSQLite(ServerConfiguration(dataDirectory: root + "/serving"), environment: determinism.server, logger: quietLogger)
        try await serving.addAuthorities(starterAuthorities)
        let before = InProcessTransport(service: SyncService(store: serving, limits: .init()))
        func client(_ role: ActorRole, _ name: String, _ authority: String? = nil) async throws -> CaseSyncClient {
            let code = try await serving.invite(role: role, authorityId: authority, displayName: name, validFor: 7).code
            let client = CaseSyncClient(database: try LocalDatabase.inMemory(), environment: determinism.client)
            try await client.login(serverURL: "http://test", code: code, deviceName: name, transport: before)
            return client
        }
        // Her pulls come one change a page: a pull from the start after the restore crosses many pages.
        var anna = try await client(.citizen, "Anna")
        anna.pullPageSize = 1
        let officer = try await client(.officer, "Officer Bakker", "gm0344")
        let caseId = try anna.createObjection(
            authorityId: "gm0344", fields: [.title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02"],
            submit: true)
        _ = try anna.createObjection(
            authorityId: "gm0193", fields: [.title: "Second", .grounds: "Another", .decisionReference: "PT-2", .decisionDate: "2026-03-02"],
            submit: true)
        let photo = AttachmentTests.png(50_000)
        let (file, files) = try AttachmentSyncTests.file(photo)
        defer { try? FileManager.default.removeItem(at: files) }
        try anna.attach(caseId: caseId, file: file)
        try await anna.sync(transport: before)
        try await officer.sync(transport: before)

        // The backup, while the server serves; then Anna changes her case, acknowledged and gone from
        // her outbox: her cursor is now ahead of anything the backup holds.
        try await serving.backup(to: root + "/backup.sqlite")
        try anna.edit(caseId: caseId, set: [.contactEmail: "anna@example.nl"])
        #expect(try await anna.sync(transport: before).applied == 1)

        // The server is lost; the backup is restored into a fresh one.
        try FileManager.default.createDirectory(atPath: root + "/restored", withIntermediateDirectories: true)
        try SQLiteSyncStore.checkBackup(at: root + "/backup.sqlite")
        try FileManager.default.copyItem(atPath: root + "/backup.sqlite", toPath: root + "/restored/casesync.sqlite")
        // Its files, kept beside it, as `restore --from` puts them back.
        #expect(try await FileBlobStore(directory: URL(fileURLWithPath: root + "/backup.sqlite.files"))
            .copyBlobs(to: URL(fileURLWithPath: root + "/restored/files")) == 1)
        let restored = try Backend.openSQLite(ServerConfiguration(dataDirectory: root + "/restored"), environment: determinism.server, logger: quietLogger)
        let floor = try await restored.markRestored()
        let after = InProcessTransport(service: SyncService(store: restored, limits: .init()))

        // The officer moves the case on: two changes, at places the lost history also handed out (without
        // the floor, Anna's cursor would pass the first unseen, and her checksum would still agree).
        try await officer.sync(transport: after)
        try officer.move(caseId: caseId, to: .received, note: "Received")
        try await officer.sync(transport: after)

        try await anna.sync(transport: after)
        let record = try anna.detail(caseId: caseId).local.record
        #expect(record.status == .received, "the officer's change reached her")
        #expect(record.fields["contactEmail"] == nil, "what the lost history held is gone from her device too")
        let (_, copy) = try await officer.download(caseId: caseId, matching: "permit.png", transport: after)
        #expect(try Data(contentsOf: copy) == Data(photo), "the restored server serves the case's file")
        #expect(try anna.localChecksum() == (try await restored.pull(after: 0, limit: 5_000, session: try Self.session(anna))).checksum)
        #expect(Int64(try #require(try anna.account()?.cursor)) ?? 0 > floor)

        // Her next edit carries a mutation id past the one the lost history acknowledged: taken, once.
        try anna.edit(caseId: caseId, set: [.contactEmail: "anna@example.org"])
        #expect(try await anna.sync(transport: after).applied == 1)
        try anna.edit(caseId: caseId, set: [.contactPhone: "0612345678"])
        #expect(try await anna.sync(transport: after).applied == 1)
        #expect(try await restored.audit(.accountId(try #require(try anna.account()).account.id), after: 0, limit: 50).last?.operation == "edit")
    }

    static func session(_ client: CaseSyncClient) throws -> Session {
        let account = try #require(try client.account())
        return Session(clientId: account.clientId, account: account.account)
    }

    @Test(arguments: StoreBackend.underTest)
    func aMarkedRestoreSendsEveryCursorBackToTheStartAndForgivesOneGap(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        let transport = server.transport
        let id = { (n: Int64) in testId("case\(n)", by: anna.clientId) }
        _ = try await transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: id(1))]), token: anna.token)
        let page = try await transport.pull(cursor: nil, limit: nil, token: anna.token)

        let floor = try await server.store.markRestored()
        #expect(floor >= RestoreRules.floorGap)
        await DeviceSessionTests.expectRefusal(410, .resyncRequired, "a cursor of before the restore") {
            try await transport.pull(cursor: page.cursor, limit: nil, token: anna.token)
        }
        let again = try await transport.pull(cursor: nil, limit: nil, token: anna.token)
        #expect(again.changes.map(\.id) == page.changes.map(\.id) && (Int64(again.cursor) ?? 0) >= floor)
        // Mutations 2 and 3 were acknowledged by the lost history: 4 is taken once ...
        let pushed = try await transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(4, caseId: id(4))]), token: anna.token)
        #expect(pushed.outcomes.map(\.status) == [.applied] && pushed.lastMutationId == 4)
        let new = try await transport.pull(cursor: again.cursor, limit: nil, token: anna.token)
        #expect(new.changes.allSatisfy { $0.seq > floor } && !new.changes.isEmpty, "new changes take places above the floor")
        // ... and only once.
        await DeviceSessionTests.expectRefusal(409, .mutationGap, "a second gap") {
            try await transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(6, caseId: id(6))]), token: anna.token)
        }
    }
}
