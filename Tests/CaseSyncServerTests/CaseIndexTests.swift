import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import Foundation
@testable import CaseSyncCore
import GRDB
import Testing

/// The device's case index answers a screen's queries exactly as the cases themselves read in full
/// would: after pulls, with edits not yet synced, after a re-pull and after the index's rules change.
@Suite("Case index")
struct CaseIndexTests {
    /// What the index must agree with: every case read in full, in the query's order, filtered.
    static func expected(_ client: CaseSyncClient, _ query: CaseQuery, today: CalendarDate) throws -> [String] {
        let words = (query.search ?? "").lowercased().split(separator: " ").map(String.init)
        let all = try client.cases().map { try client.detail(caseId: $0.id) }.filter { detail in
            let record = detail.local.record
            let text = [record.id, record.fields["decisionReference"] ?? "", record.fields["title"] ?? ""].joined(separator: "\n").lowercased()
            return (query.status == nil || record.status == query.status) && (query.authorityId == nil || record.authorityId == query.authorityId)
                && words.allSatisfy { text.contains($0) }
        }
        let ordered = switch query.order {
        case .recentlyChanged:
            all.sorted { ($0.local.record.updatedAt, $0.local.id) > ($1.local.record.updatedAt, $1.local.id) }
        case .mostUrgent:
            try all.map { ($0, try client.deadlines(caseId: $0.local.id, today: today).urgency) }
                .sorted { ($0.1, $0.0.local.id) < ($1.1, $1.0.local.id) }.map(\.0)
        }
        return Array(ordered.map(\.local.id).dropFirst(query.offset).prefix(query.limit ?? .max))
    }

    static func checkQueries(_ client: CaseSyncClient, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let today = client.today
        for query in [
            CaseQuery(), CaseQuery(order: .mostUrgent), CaseQuery(status: .received, order: .mostUrgent),
            CaseQuery(status: .submitted, authorityId: "gm0344"), CaseQuery(authorityId: "gm0363", order: .mostUrgent),
            CaseQuery(search: "TAX"), CaseQuery(search: "pt-2026-1 fine", order: .mostUrgent), CaseQuery(search: "100%"),
            CaseQuery(order: .mostUrgent, limit: 3, offset: 2), CaseQuery(limit: 4),
        ] {
            let page = try client.cases(query)
            let expected = try Self.expected(client, query, today: today)
            #expect(page.cases.map(\.id) == expected, "\(label): \(query)", sourceLocation: sourceLocation)
            var all = query
            (all.limit, all.offset) = (nil, 0)
            #expect(page.total == (try Self.expected(client, all, today: today)).count, "\(label): total of \(query)", sourceLocation: sourceLocation)
            if query.order == .mostUrgent {
                #expect(try client.deadlineOverview(query).map(\.case.id) == expected, "\(label): \(query)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func theIndexAnswersAsTheCasesReadInFullDo() async throws {
        let server = try TestServer()
        let anna = try await server.client(.citizen, name: "Anna", transport: server.transport)
        let officer = try await server.client(.officer, name: "Olga", authority: "gm0344", transport: server.transport)
        var ids: [String] = []
        for index in 0..<16 {
            let tax = index % 3 == 0
            ids.append(try anna.createObjection(
                authorityId: index % 5 == 4 ? "gm0363" : "gm0344",
                fields: [
                    .title: tax ? "Parking tax \(index)" : "Parking fine \(index)" + (index == 7 ? " (100% wrong)" : ""),
                    .grounds: "My permit was valid", .decisionReference: "PT-2026-\(index)",
                    .decisionDate: CalendarDate(daysSince1970: CalendarDate("2026-01-05")!.daysSince1970 + index * 9).description,
                    .decisionType: tax ? "municipal_tax" : "decision",
                ],
                submit: index % 4 != 3))
        }
        try Self.checkQueries(anna, "filed offline")
        try await anna.sync(transport: server.transport)
        try await officer.sync(transport: server.transport)
        try Self.checkQueries(anna, "citizen after sync")
        try Self.checkQueries(officer, "officer after first sync")

        // The officer works offline: the index shows the edits at once, as the cases do.
        let filed = Set(try officer.cases().map(\.id))
        for id in ids.prefix(8) where filed.contains(id) {
            try officer.move(caseId: id, to: .received)
        }
        try officer.changeDeadline(caseId: ids[1], DeadlineChange(action: .postpone, weeks: 3, note: "second opinion"))
        try officer.changeDeadline(caseId: ids[2], DeadlineChange(action: .pause, note: "signature missing"))
        try officer.move(caseId: ids[5], to: .inReview)
        try officer.move(caseId: ids[5], to: .decided, fields: [.decisionOutcome: "upheld", .decisionSummary: "The fine stands."])
        try Self.checkQueries(officer, "officer with pending edits")
        try await officer.sync(transport: server.transport)
        try await anna.sync(transport: server.transport)
        try Self.checkQueries(officer, "officer after sync")
        try Self.checkQueries(anna, "citizen after the officer's moves")

        // A draft deleted, a re-pull in full: rows of cases gone go too.
        let draft = ids[3]
        try anna.deleteDraft(caseId: draft)
        try await anna.sync(transport: server.transport)
        try await anna.database.writer.write { db in try CaseSyncClient.beginRepair(db) }
        try await anna.sync(transport: server.transport)
        #expect(try !anna.cases(CaseQuery(search: "PT-2026-3 ")).cases.contains { $0.id == draft })
        try Self.checkQueries(anna, "citizen after a re-pull")

        // An index built by other rules (a new edition of the designated days) is built again on first use.
        try await officer.database.writer.write { db in
            try db.execute(sql: "UPDATE case_list SET urgency = 0, status = 'closed'")
            try db.execute(sql: "UPDATE case_list_state SET version = 'older rules'")
        }
        try Self.checkQueries(officer, "officer after the rules changed")
    }

    @Test func aCaseIsFoundByTheFirstCharactersOfItsId() async throws {
        let server = try TestServer()
        let anna = try await server.client(.citizen, name: "Anna", transport: server.transport)
        let id = try anna.createObjection(
            authorityId: "gm0344",
            fields: [.title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02"],
            submit: true)
        #expect(try anna.caseId(matching: String(id.prefix(6)).uppercased()) == id)
        #expect(throws: ClientError.self) { try anna.caseId(matching: "ffffffff") }
        #expect(throws: ClientError.self) { try anna.caseId(matching: "%%%%") }
    }
}

@Suite("Sync progress")
struct SyncProgressTests {
    @Test func aSyncReportsEveryBatchAndPageAsItGoesThenIdle() async throws {
        let server = try TestServer()
        let invitation = try await server.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
        let anna = CaseSyncClient(
            database: try LocalDatabase.inMemory(), environment: server.determinism.client, pushBatchSize: 2, pullPageSize: 2)
        try await anna.login(serverURL: "http://test", code: invitation.code, deviceName: "Anna", transport: server.transport)
        for title in ["First", "Second", "Third"] {
            _ = try anna.createObjection(
                authorityId: "gm0344",
                fields: [.title: title, .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02"], submit: true)
        }
        // Every value kept (a screen keeps the newest only), so the order can be checked whatever runs when.
        let stream = anna.database.progress.stream(buffering: .unbounded)
        let report = try await anna.sync(transport: server.transport)
        var values: [SyncProgress?] = []
        for await value in stream {
            values.append(value)
            if value == nil && values.count > 1 { break }
        }
        #expect(values.first == .some(nil) && values.last == .some(nil), "idle before and after")
        let figures = values.compactMap { $0 }
        #expect(figures.filter { $0.phase == .pushing }.map(\.pushed) == [0, 2, 4, 6])
        #expect(figures.allSatisfy { $0.phase == .pulling || $0.toPush == 6 })
        let pulled = figures.filter { $0.phase == .pulling }
        #expect(pulled.map(\.pages) == Array(1...report.pages))
        #expect(zip(pulled, pulled.dropFirst()).allSatisfy { $0.records <= $1.records })
        #expect(pulled.last?.records == report.pulled && report.pulled > 2)
    }
}

@Suite("Case index and token, when things go wrong")
struct CaseIndexTroubleTests {
    @Test func aRecordThisVersionCannotReadNeitherStopsThePullNorShowsStale() async throws {
        let server = try TestServer()
        let anna = try await server.client(.citizen, name: "Anna", transport: server.transport)
        let fields: [CaseField: String] = [.title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02"]
        let first = try anna.createObjection(authorityId: "gm0344", fields: fields, submit: true)
        try await anna.sync(transport: server.transport)
        // As if a later server had sent a status this version does not know.
        try await anna.database.writer.write { db in
            try db.execute(sql: "UPDATE records SET body = replace(body, '\"submitted\"', '\"sealed\"') WHERE id = ?", arguments: [first])
        }
        let second = try anna.createObjection(authorityId: "gm0344", fields: fields, submit: true)
        try await anna.sync(transport: server.transport)
        #expect(try anna.cases().map(\.id) == [second], "the unreadable case is left out, the rest goes on")
    }

    @Test func loggingOutLeavesNothingOfTheAccountInTheIndex() async throws {
        let server = try TestServer()
        let anna = try await server.client(.citizen, name: "Anna", transport: server.transport)
        _ = try anna.createObjection(
            authorityId: "gm0344",
            fields: [.title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02"],
            submit: true)
        try await anna.sync(transport: server.transport)
        try await anna.logout(transport: server.transport)
        let left = try await anna.database.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM case_list) + (SELECT COUNT(*) FROM case_list_dirty)")
        }
        #expect(left == 0)
    }

    @Test func aDeviceWhoseTokenIsGoneIsSignedOutCanLogOutAndLogInAgain() async throws {
        let server = try TestServer()
        let tokens = MemoryTokenStore()
        let invitation = try await server.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
        let anna = CaseSyncClient(database: try LocalDatabase.inMemory(tokens: tokens), environment: server.determinism.client)
        try await anna.login(serverURL: "http://test", code: invitation.code, deviceName: "Anna", transport: server.transport)
        // The keystore lost it (restored without it, wiped).
        try tokens.delete()
        await #expect(throws: ClientError.self) { try await anna.sync(transport: server.transport) }
        #expect(try anna.status().signedOut == "token_missing")
        let again = try await server.store.inviteDevice(accountId: try #require(anna.account()).account.id, validFor: 7)
        try await anna.login(serverURL: "http://test", code: again.code, deviceName: "Anna", transport: server.transport)
        try await anna.sync(transport: server.transport)
        try tokens.delete()
        try await anna.logout(transport: server.transport)
        #expect(try anna.account() == nil)
    }
}
