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

/// Who did what to a case, from where, and what was done to an account: appended in the transaction of
/// what it records, holding no content, kept through compaction, and refusing every change.
@Suite("Audit trail")
struct AuditTrailTests {
    @Test(arguments: StoreBackend.underTest)
    func aFullCasesTrailNamesEveryActorAndFieldButNoContentAndSurvivesCompaction(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.client(.citizen, name: "Anna de Vries", transport: http)
            let officer = try await server.client(.officer, name: "Officer Bakker", authority: "gm0344", transport: http)
            let annaAccount = try #require(try anna.account())
            let officerAccount = try #require(try officer.account())
            let grounds = "My permit was on the dashboard, licence 12-ABC-3"
            let caseId = try anna.createObjection(
                authorityId: "gm0344",
                fields: [.title: "Parking fine Oudegracht", .grounds: grounds, .decisionReference: "PT-2026-7", .decisionDate: "2026-03-02"],
                submit: true)
            try anna.edit(caseId: caseId, set: [.contactEmail: "anna@example.nl"])
            try await anna.sync(transport: http)
            try await officer.sync(transport: http)
            try officer.move(caseId: caseId, to: .received, note: "Received by the objections team")
            try officer.changeDeadline(caseId: caseId, DeadlineChange(action: .postpone, weeks: 2, note: "Second opinion"))
            _ = try officer.sendMessage(caseId: caseId, body: "We will decide within the period.")
            try officer.move(caseId: caseId, to: .inReview)
            try officer.move(caseId: caseId, to: .decided, fields: [.decisionOutcome: "upheld"])
            try await officer.sync(transport: http)
            try await anna.sync(transport: http)

            let trail = try await server.store.audit(.caseId(caseId), after: 0, limit: 100)
            let steps = trail.map { [$0.clientId ?? "", $0.operation ?? "", ($0.fields ?? []).joined(separator: ","), $0.outcome ?? ""] }
            let (a, o) = (annaAccount.clientId, officerAccount.clientId)
            #expect(steps == [
                [a, "create", "decisionDate,decisionReference,grounds,title", "applied"],
                [a, "transition", "status", "applied"],
                [a, "edit", "contactEmail", "applied"],
                [o, "transition", "status", "applied"],
                [o, "deadline", "deadline.postpone", "applied"],
                [o, "add_message", "message", "applied"],
                [o, "transition", "status", "applied"],
                [o, "transition", "status,decisionOutcome", "applied"],
            ])
            #expect(trail.allSatisfy { $0.action == .mutation && $0.actor == .device && $0.address == "127.0.0.1" && $0.caseId == caseId })
            #expect(trail.map(\.accountId) == Array(repeating: annaAccount.account.id, count: 3) + Array(repeating: officerAccount.account.id, count: 5))
            #expect(zip(trail, trail.dropFirst()).allSatisfy { $0.id! < $1.id! && $0.at <= $1.at })
            // No content: neither the grounds, the title, the e-mail address, the note nor the message.
            let stored = String(decoding: try WireCoding.encoder().encode(trail), as: UTF8.self)
            for content in [grounds, "Oudegracht", "anna@example.nl", "objections team", "Second opinion", "decide within", "upheld"] {
                #expect(!stored.contains(content), "\(content)")
            }

            // The citizen sees who acted on her case.
            let events = try anna.detail(caseId: caseId).events
            #expect(events.filter { $0.actorRole == .officer }.map(\.actorName) == Array(repeating: "Officer Bakker", count: 4))
            #expect(events.first?.actorName == "Anna de Vries")

            // The account's trail: created by the operator, its login, its changes, its logout.
            let phone = try await server.device(of: annaAccount.account.id)
            try await anna.revokeDevice(clientId: phone.clientId, transport: http)
            let account = try await server.store.audit(.accountId(annaAccount.account.id), after: 0, limit: 100)
            #expect(account.map(\.action.rawValue) == [
                "account_created", "login", "mutation", "mutation", "mutation", "device_invited", "login", "device_revoked",
            ])
            #expect(account[0].actor == .operator && account[1].clientId == a && account[1].address == "127.0.0.1")
            #expect(account[6].clientId == phone.clientId && account[6].address == nil, "redeemed in-process, not over HTTP")
            #expect(account[7].clientId == a && account[7].subject == phone.clientId && account[7].address == "127.0.0.1")
            #expect(try await server.store.audit(.accountId(annaAccount.account.id), after: account[4].id!, limit: 2).map(\.id) == [account[5].id, account[6].id])

            // Compaction keeps it; the operator's compaction is in the operator's part of it.
            _ = try await server.store.compact(retentionDays: 0)
            #expect(try await server.store.audit(.caseId(caseId), after: 0, limit: 100) == trail)
            #expect(try await server.store.audit(.operator, after: 0, limit: 100).map(\.action).contains(.compaction))
        }
    }

    @Test(arguments: StoreBackend.underTest)
    func theTrailRefusesToBeChangedOrEmptied(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        _ = try await server.store.revokeDevice(clientId: anna.clientId, by: nil, reason: .revoked)
        #expect(try await server.store.audit(.accountId(anna.account.id), after: 0, limit: 10).count == 3)
        switch server.store {
        case let store as SQLiteSyncStore:
            for statement in ["UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"] {
                await #expect("\(statement)") { try await store.writer.write { try $0.execute(sql: statement) } } throws: { error in
                    (error as? DatabaseError)?.message?.contains("append-only") == true
                }
            }
        case let store as PostgresSyncStore:
            for statement in ["UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
                await #expect("\(statement)") {
                    try await store.client.query(PostgresQuery(unsafeSQL: statement), logger: quietLogger)
                } throws: { error in
                    (error as? PSQLError)?.serverInfo?[.message]?.contains("append-only") == true
                }
            }
        default:
            Issue.record("a store of another kind")
        }
        #expect(try await server.store.audit(.accountId(anna.account.id), after: 0, limit: 10).map(\.action) == [
            .accountCreated, .login, .deviceRevoked,
        ])
    }
}
