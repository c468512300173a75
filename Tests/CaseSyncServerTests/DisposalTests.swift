import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncTesting
import Foundation
import Testing

/// The retention of closed cases: a case closed or withdrawn and left unchanged for the operator's
/// period is disposed of — gone from every device that held it, its content gone from the server, its
/// trail kept with one entry that it was disposed of.
@Suite("Retention of closed cases")
struct DisposalTests {
    static let day: Int64 = 86_400_000

    @Test(arguments: StoreBackend.underTest)
    func aCaseClosedLongEnoughIsDisposedOfOnEveryDeviceAndItsTrailSaysSo(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.client(.citizen, name: "Anna de Vries", transport: http)
            let officer = try await server.client(.officer, name: "Officer Bakker", authority: "gm0344", transport: http)
            let file = { (grounds: String) in
                try anna.createObjection(
                    authorityId: "gm0344",
                    fields: [.title: "Parking fine", .grounds: grounds, .decisionReference: "PT-1", .decisionDate: "2026-03-02"], submit: true)
            }
            let withdrawn = try file("Withdrawn: my permit number 4711")
            let decided = try file("Decided: my permit number 4712")
            let open = try file("Open: my permit number 4713")
            try await anna.sync(transport: http)
            try await officer.sync(transport: http)
            try officer.move(caseId: withdrawn, to: .received)
            _ = try officer.sendMessage(caseId: withdrawn, body: "Received, Mrs de Vries.")
            try officer.move(caseId: decided, to: .received)
            try officer.move(caseId: decided, to: .inReview)
            try officer.move(caseId: decided, to: .decided, fields: [.decisionOutcome: "upheld"])
            try await officer.sync(transport: http)
            try await anna.sync(transport: http)
            try anna.move(caseId: withdrawn, to: .withdrawn)
            try await anna.sync(transport: http)
            try await officer.sync(transport: http)

            // Twenty days on the decided case is closed; eleven more and only the withdrawn one is past 30 days.
            server.determinism.advance(millis: 20 * Self.day)
            try officer.move(caseId: decided, to: .closed)
            try await officer.sync(transport: http)
            server.determinism.advance(millis: 11 * Self.day)
            let report = try await server.store.dispose(closedCaseDays: 30)
            #expect(report.cases == 1 && report.records >= 5, "the case, its events, the officer's message")

            // Both devices drop it on their next sync, their checksums agreeing (no repair).
            for client in [anna, officer] {
                #expect(try await client.sync(transport: http).repaired == false)
                #expect(Set(try client.cases().map(\.id)) == [decided, open])
            }
            let text = try await ErasureTests.storedText(server.store)
            #expect(!text.contains("Withdrawn: my permit") && !text.contains("Received, Mrs de Vries"))
            #expect(text.contains("Decided: my permit") && text.contains("Open: my permit"), "the check can see content")
            #expect(try await server.store.storageCountMismatches().isEmpty)

            // The trail keeps who did what to it, and says it was disposed of.
            let trail = try await server.store.audit(.caseId(withdrawn), after: 0, limit: 20)
            #expect(trail.map(\.operation) == ["create", "transition", "transition", "add_message", "transition", nil])
            #expect(trail.last?.action == .caseDisposed && trail.last?.actor == .operator)

            // Nothing more until the closed case is past the period too; a case still open never goes.
            #expect(try await server.store.dispose(closedCaseDays: 30).cases == 0)
            server.determinism.advance(millis: 20 * Self.day)
            #expect(try await server.store.dispose(closedCaseDays: 30).cases == 1)
            try await officer.sync(transport: http)
            #expect(try officer.cases().map(\.id) == [open])
            await #expect(throws: ServiceError.self) { try await server.store.dispose(closedCaseDays: 0) }
        }
    }

    /// A change on a closed case restarts its period.
    @Test func aClosedCaseWithARecentChangeStays() throws {
        let horizon: Int64 = 1_000
        let record = { (type: RecordType, id: String, changedAt: Int64, status: String?) in
            DisposalPlan.Stored(
                RecordRow(type: type, id: id, caseId: "c", citizenId: "anna", authorityId: "gm0344", version: 1, deleted: false),
                bytes: 10, changedAt: changedAt, status: status)
        }
        #expect(DisposalPlan([record(.case, "c", 10, "closed"), record(.message, "m", 999, nil)], horizon: horizon).caseIds == ["c"])
        #expect(DisposalPlan([record(.case, "c", 10, "closed"), record(.message, "m", 1_000, nil)], horizon: horizon).caseIds.isEmpty)
        #expect(DisposalPlan([record(.case, "c", 10, "decided")], horizon: horizon).caseIds.isEmpty)
        let plan = DisposalPlan([record(.case, "c", 10, "withdrawn"), record(.event, "e", 20, nil)], horizon: horizon)
        #expect(plan.tombstones.map(\.id) == ["c", "e"] && plan.tombstones.map(\.version) == [2, 2])
        #expect(plan.scopes["c:anna"]?.bytes == -20 && plan.scopes["a:gm0344"]?.checksum.count == -2)
    }
}
