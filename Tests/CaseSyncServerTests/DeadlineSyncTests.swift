import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncTesting
import Foundation
import Testing

@Suite("Deadlines across devices")
struct DeadlineSyncTests {
    @Test(arguments: StoreBackend.underTest) func anOfficersPostponementReachesTheCitizenAndMovesTheDeadlineThere(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.client(.citizen, name: "Anna", transport: http)
            let officer = try await server.client(.officer, name: "Olga", authority: "gm0344", transport: http)
            let caseId = try anna.createObjection(
                authorityId: "gm0344",
                fields: [.title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-2026-1",
                         .decisionDate: "2026-03-02"],
                submit: true)
            let draft = try anna.deadlines(caseId: caseId)
            #expect(draft.objectionPeriod?.end == CalendarDate("2026-04-13"))
            #expect(draft.decisionPeriod == nil, "not received before it reached the server")
            try await anna.sync(transport: http)
            try await officer.sync(transport: http)

            // The objection reached the server on 2 March: six weeks after the objection period, with Whit Monday.
            let filed = try officer.deadlines(caseId: caseId)
            #expect(filed.received == CalendarDate("2026-03-02"))
            #expect(filed.decisionPeriod?.end == CalendarDate("2026-05-26"))
            #expect(filed.standing == .running(daysLeft: 86))

            try officer.move(caseId: caseId, to: .received)
            try officer.changeDeadline(caseId: caseId, DeadlineChange(action: .postpone, weeks: 2, note: "second opinion"))
            #expect(try officer.deadlines(caseId: caseId).decisionPeriod?.end == CalendarDate("2026-06-08"),
                    "a pending postponement shows at once")
            #expect(throws: ClientError.self, "beyond six weeks needs the objector's consent") {
                try officer.changeDeadline(caseId: caseId, DeadlineChange(action: .postpone, weeks: 5))
            }
            #expect(throws: ClientError.self, "a citizen does not move the authority's deadline") {
                try anna.changeDeadline(caseId: caseId, DeadlineChange(action: .postpone, weeks: 1))
            }
            try await officer.sync(transport: http)
            try await anna.sync(transport: http)

            let seen = try anna.deadlines(caseId: caseId)
            #expect(seen.decisionPeriod?.end == CalendarDate("2026-06-08"))
            #expect(seen.decisionPeriod?.basis.contains { $0.hasPrefix("Awb 7:10 lid 3 (postponed 2 weeks)") } == true)
            #expect(try anna.detail(caseId: caseId).events.map(\.type).contains(.postponed))
            #expect(try officer.deadlineOverview().map(\.case.id) == [caseId])

            // A pause not yet synced already shows in the officer's overview.
            try officer.changeDeadline(caseId: caseId, DeadlineChange(action: .pause, note: "Send a copy of the permit"))
            #expect(try officer.deadlineOverview().first?.deadlines.standing == .paused(since: CalendarDate("2026-03-02")!))
        }
    }
}
