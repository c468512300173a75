import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncTesting
import CaseSyncServerSQLite
import Testing

@Suite("Tombstones and compaction")
struct CompactionTests {
    @Test(arguments: StoreBackend.underTest) func aClientOlderThanTheHorizonResyncsAndKeepsItsPendingEdits(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let transport = server.transport
        let phone = try await server.client(.citizen, name: "Anna", transport: transport)
        let anna = try #require(try phone.account()).account.id
        let laptop = try await server.client(.citizen, name: "Anna", account: anna, transport: transport)
        let fields: [CaseField: String] = [.title: "T", .grounds: "G", .decisionReference: "R", .decisionDate: "2026-03-02"]
        let keep = try phone.createObjection(authorityId: "gm0344", fields: fields, submit: true)
        let drop = try phone.createObjection(authorityId: "gm0344", fields: fields, submit: false)
        try await phone.sync(transport: transport)
        try await laptop.sync(transport: transport)
        #expect(Set(try laptop.cases().map(\.id)) == [keep, drop])

        // The laptop goes offline with an edit; meanwhile the draft is deleted and history compacted.
        try laptop.edit(caseId: keep, set: [.contactEmail: "anna@example.org"])
        try phone.deleteDraft(caseId: drop)
        try await phone.sync(transport: transport)
        let report = try await server.store.compact(retentionDays: 0)
        #expect(report.tombstonesRemoved == 2, "the draft and its created event")
        #expect(report.compactedThrough > 0)

        // The laptop's cursor is older than the horizon: it is told to resync, does so, and its edit survives.
        let result = try await laptop.sync(transport: transport)
        #expect(result.repaired)
        #expect(try laptop.cases().map(\.id) == [keep], "the deletion reached the laptop through the full pull")
        #expect(try laptop.detail(caseId: keep).local.record.fields["contactEmail"] == "anna@example.org")
        try await phone.sync(transport: transport)
        #expect(try phone.detail(caseId: keep).local.record.fields["contactEmail"] == "anna@example.org")
        #expect(try phone.localChecksum() == laptop.localChecksum())
    }

    @Test(arguments: StoreBackend.underTest) func compactionKeepsTombstonesInsideTheRetention(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId))]), token: anna.token)
        let first = try await server.transport.pull(cursor: nil, limit: nil, token: anna.token)
        let delete = Mutation(mutationId: 2, caseId: testId("a", by: anna.clientId), baseVersion: 1, hlc: HLCTimestamp(millis: 9, counter: 0, node: "t"), operation: .delete)
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: [delete]), token: anna.token)
        let report = try await server.store.compact(retentionDays: 30)
        #expect(report.tombstonesRemoved == 0 && report.compactedThrough == 0)
        let next = try await server.transport.pull(cursor: first.cursor, limit: nil, token: anna.token)
        #expect(next.changes.allSatisfy(\.deleted) && next.changes.count == 2)
    }
}

@Suite("Compaction horizons are per scope")
struct CompactionScopeTests {
    @Test(arguments: StoreBackend.underTest) func anotherScopesCompactionDoesNotForceAResync(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        let bert = try await server.device(.citizen, name: "Bert")
        _ = try await server.transport.push(PushRequest(stamping: bert.clientId, mutations: [.create(1, caseId: testId("b", by: bert.clientId))]), token: bert.token)
        let bertPage = try await server.transport.pull(cursor: nil, limit: nil, token: bert.token)
        _ = try await server.transport.push(
            PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("kept", by: anna.clientId)), .create(2, caseId: testId("a", by: anna.clientId))]), token: anna.token)
        let delete = Mutation(mutationId: 3, caseId: testId("a", by: anna.clientId), baseVersion: 1, hlc: HLCTimestamp(millis: 9, counter: 0, node: "t"), operation: .delete)
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: [delete]), token: anna.token)
        _ = try await server.store.compact(retentionDays: 0)
        // Bert's cursor is older than Anna's dropped tombstones, but none were his.
        let again = try await server.transport.pull(cursor: bertPage.cursor, limit: nil, token: bert.token)
        #expect(again.changes.isEmpty)
        // Anna, after a full pull, is past her own horizon and pulls incrementally again, even though her
        // latest live record is older than the tombstones that were dropped.
        let annaFull = try await server.transport.pull(cursor: nil, limit: nil, token: anna.token)
        #expect(annaFull.changes.isEmpty == false)
        let annaNext = try await server.transport.pull(cursor: annaFull.cursor, limit: nil, token: anna.token)
        #expect(annaNext.changes.isEmpty && annaNext.cursor == annaFull.cursor)
    }
}

/// A place in the change sequence is handed out once, even after compaction removed the newest records.
@Suite("Change sequence")
struct ChangeSequenceTests {
    @Test(arguments: StoreBackend.underTest)
    func aChangeAfterCompactionRemovedTheNewestRecordsIsNotMissed(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        let transport = server.transport
        let id = { (n: Int64) in testId("case\(n)", by: anna.clientId) }
        _ = try await transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: id(1))]), token: anna.token)
        let delete = Mutation(
            mutationId: 2, caseId: id(1), baseVersion: 1, hlc: HLCTimestamp(millis: 5_000, counter: 0, node: "t"), operation: .delete)
        _ = try await transport.push(PushRequest(stamping: anna.clientId, mutations: [delete]), token: anna.token)
        // The device has seen the tombstones, the newest records; compaction drops them.
        let seen = try await transport.pull(cursor: nil, limit: nil, token: anna.token)
        _ = try await server.store.compact(retentionDays: 0)
        _ = try await transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(3, caseId: id(3))]), token: anna.token)
        let next = try await transport.pull(cursor: seen.cursor, limit: nil, token: anna.token)
        #expect(next.changes.contains { $0.id == id(3) }, "the new case comes after the cursor, not at a place handed out before")
    }
}

extension ChangeSequenceTests {
    /// A device pulling its scope again after compaction, page by page, is never refused midway: its
    /// pages may end below the horizon (a continuation cursor says the pull began at the start).
    @Test(arguments: StoreBackend.underTest)
    func aPullFromTheStartAfterCompactionCrossesEveryPage(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        let transport = server.transport
        let id = { (n: Int64) in testId("case\(n)", by: anna.clientId) }
        _ = try await transport.push(PushRequest(stamping: anna.clientId, mutations: (1...3).map { .create($0, caseId: id($0)) }), token: anna.token)
        let delete = Mutation(
            mutationId: 5, caseId: id(4), baseVersion: 1, hlc: HLCTimestamp(millis: 9_000, counter: 0, node: "t"), operation: .delete)
        _ = try await transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(4, caseId: id(4)), delete]), token: anna.token)
        let report = try await server.store.compact(retentionDays: 0)
        #expect(report.tombstonesRemoved >= 2)
        var (cursor, pages, live): (String?, Int, Set<String>) = (nil, 0, [])
        while pages < 50 {
            let page = try await transport.pull(cursor: cursor, limit: 1, token: anna.token)
            pages += 1
            for change in page.changes where !change.deleted { live.insert(change.id) }
            cursor = page.cursor
            if !page.hasMore { break }
        }
        #expect(pages == 6 && live.count == 6, "three cases and their events, one a page")
        #expect(Int64(try #require(cursor)) == report.compactedThrough, "the last page's cursor is a plain place at the horizon")
        // A plain cursor below the horizon is still sent back to the start.
        await DeviceSessionTests.expectRefusal(410, .resyncRequired, "a plain cursor below the horizon") {
            try await transport.pull(cursor: "1", limit: 10, token: anna.token)
        }
    }
}
