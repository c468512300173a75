import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
@testable import CaseSyncServerPostgres
@testable import CaseSyncServerSQLite
import CaseSyncTesting
import Foundation
import GRDB
import PostgresNIO
import Testing

/// A citizen's data: exported from the server in full, and erased for good — reaching officers' devices,
/// leaving nothing of its content, and only the fact of the erasure in the audit trail.
@Suite("Export and erasure")
struct ErasureTests {
    static let grounds = "My permit hung behind the windscreen, number 4711"

    @Test(arguments: StoreBackend.underTest)
    func anExportHoldsEverythingAndAnErasureReachesTheOfficersDevice(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.client(.citizen, name: "Anna de Vries", transport: http)
            let bram = try await server.client(.citizen, name: "Bram Jansen", transport: http)
            let officer = try await server.client(.officer, name: "Officer Bakker", authority: "gm0344", transport: http)
            let fields: [CaseField: String] = [.title: "Parking fine", .grounds: Self.grounds, .decisionReference: "PT-1", .decisionDate: "2026-03-02"]
            let filed = try anna.createObjection(authorityId: "gm0344", fields: fields, submit: true)
            let draft = try anna.createObjection(authorityId: "gm0344", fields: fields.merging([.title: "Draft"]) { $1 }, submit: false)
            let brams = try bram.createObjection(authorityId: "gm0344", fields: fields.merging([.grounds: "Bram's own grounds"]) { $1 }, submit: true)
            for client in [anna, bram] { try await client.sync(transport: http) }
            try await officer.sync(transport: http)
            try officer.move(caseId: filed, to: .received)
            _ = try officer.sendMessage(caseId: filed, body: "Received, Mrs de Vries.")
            try await officer.sync(transport: http)
            try await anna.sync(transport: http)
            #expect(Set(try officer.cases().map(\.id)) == [filed, brams])

            // The export: from the server, everything about her and nothing about anyone else.
            let annaAccount = try #require(try anna.account())
            let export = try await anna.exportAccount(transport: http)
            #expect(export.format == AccountExport.currentFormat && export.account == annaAccount.account)
            #expect(Set(export.records.map(\.caseId)) == [filed, draft])
            #expect(export.records.contains { if case .message(let message) = $0.data { message.body == "Received, Mrs de Vries." } else { false } })
            #expect(export.devices.map(\.clientId) == [annaAccount.clientId])
            #expect(export.activity.contains { $0.action == .login } && export.activity.contains { $0.caseId == filed && $0.operation == "create" })
            let officerExport = try await officer.exportAccount(transport: http)
            #expect(officerExport.records.isEmpty, "an officer's export holds no one else's cases")

            let report = try await server.store.erase(accountId: annaAccount.account.id)
            #expect(report.cases == 2 && report.devices == 1)

            // The officer's device drops her case on its next sync, its checksum agreeing.
            let synced = try await officer.sync(transport: http)
            #expect(!synced.repaired)
            #expect(try officer.cases().map(\.id) == [brams])
            // Her device is unknown from now on.
            await #expect { try await anna.sync(transport: http) } throws: { ($0 as? ClientError)?.ruleCode == .unauthorized }
            // Nothing of her content is left where the server could serve it, or in its tables.
            let trail = try await server.store.audit(.accountId(annaAccount.account.id), after: 0, limit: 10)
            #expect(trail.map(\.action) == [.accountErased])
            #expect(try await server.store.audit(.caseId(filed), after: 0, limit: 10).isEmpty)
            #expect(try await Self.storedText(server.store).contains(Self.grounds) == false)
            #expect(try await Self.storedText(server.store).contains("Bram's own grounds"), "the check can see content")
            await #expect(throws: ServiceError.self) { try await server.store.erase(accountId: annaAccount.account.id) }
            let officerId = try #require(try officer.account()).account.id
            await #expect(throws: ServiceError.self) { try await server.store.erase(accountId: officerId) }
        }
    }

    /// Every record body, outcome and audit column the store holds, as text.
    static func storedText(_ store: any SyncStore) async throws -> String {
        switch store {
        case let store as SQLiteSyncStore:
            return try await store.writer.read { db in
                try [
                    "SELECT CAST(COALESCE(body, '') AS TEXT) FROM records", "SELECT CAST(outcome AS TEXT) FROM mutation_outcomes",
                    "SELECT COALESCE(fields, '') || COALESCE(outcome, '') FROM audit_log", "SELECT display_name FROM accounts",
                ].flatMap { try String.fetchAll(db, sql: $0) }.joined(separator: "\n")
            }
        case let store as PostgresSyncStore:
            var text = ""
            for sql in [
                "SELECT convert_from(COALESCE(body, ''::BYTEA), 'UTF8') FROM records", "SELECT convert_from(outcome, 'UTF8') FROM mutation_outcomes",
                "SELECT COALESCE(fields, '') || COALESCE(outcome, '') FROM audit_log", "SELECT display_name FROM accounts",
            ] {
                for try await value in try await store.client.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger).decode(String.self) {
                    text += value + "\n"
                }
            }
            return text
        default:
            Issue.record("a store of another kind")
            return ""
        }
    }
}

extension ErasureTests {
    /// A deleted draft's text is gone from the server as the deletion applies, not at compaction.
    @Test(arguments: StoreBackend.underTest)
    func aDeletedDraftKeepsNoContentOnTheServer(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.client(.citizen, name: "Anna", transport: server.transport)
        let fields: [CaseField: String] = [.title: "Draft", .grounds: Self.grounds, .decisionReference: "PT-9", .decisionDate: "2026-03-02"]
        let draft = try anna.createObjection(authorityId: "gm0344", fields: fields, submit: false)
        try await anna.sync(transport: server.transport)
        try anna.edit(caseId: draft, set: [.grounds: "A second thought about the permit"])
        try await anna.sync(transport: server.transport)
        #expect(try await Self.storedText(server.store).contains("second thought"), "the check can see it")
        try anna.deleteDraft(caseId: draft)
        try await anna.sync(transport: server.transport)
        let stored = try await Self.storedText(server.store)
        #expect(!stored.contains(Self.grounds) && !stored.contains("second thought"))
        #expect(try anna.cases().isEmpty)
        #expect(try await server.store.storageCountMismatches().isEmpty)
    }
}

extension ErasureTests {
    /// A conflict raised for the officer on her case quotes her value: it goes with her, from the
    /// officer's device too.
    @Test(arguments: StoreBackend.underTest)
    func theOfficersConflictsOnHerCasesGoWithHer(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let transport = server.transport
        let anna = try await server.client(.citizen, name: "Anna", transport: transport)
        let officer = try await server.client(.officer, name: "Officer Bakker", authority: "gm0344", transport: transport)
        let fields: [CaseField: String] = [.title: "Fine", .grounds: "Valid permit", .decisionReference: "PT-3", .decisionDate: "2026-03-02"]
        let caseId = try anna.createObjection(authorityId: "gm0344", fields: fields, submit: true)
        try await anna.sync(transport: transport)
        try await officer.sync(transport: transport)
        // Both change the e-mail address offline; the citizen's later clock wins, the officer gets a conflict.
        try officer.edit(caseId: caseId, set: [.contactEmail: "office-typed@example.org"])
        try anna.edit(caseId: caseId, set: [.contactEmail: "anna.secret@example.org"])
        try await anna.sync(transport: transport)
        try await officer.sync(transport: transport)
        try await officer.sync(transport: transport)
        let conflicts = try officer.openConflicts() + (try anna.openConflicts())
        #expect(!conflicts.isEmpty, "the edits crossed")

        _ = try await server.store.erase(accountId: try #require(try anna.account()).account.id)
        let synced = try await officer.sync(transport: transport)
        #expect(!synced.repaired)
        #expect(try officer.cases().isEmpty && officer.openConflicts().isEmpty)
        let officerId = try #require(try officer.account()).account.id
        let scope = try await server.store.pull(
            after: 0, limit: 1_000, session: Session(clientId: try #require(try officer.account()).clientId, account: try #require(try officer.account()).account))
        #expect(scope.changes.allSatisfy { $0.deleted }, "officer \(officerId)'s scope holds only tombstones of her records")
    }
}
