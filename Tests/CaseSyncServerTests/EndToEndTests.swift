import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncTesting
import Foundation
import Testing

/// Real clients over real HTTP against a live server on an ephemeral port of 127.0.0.1.
@Suite("End to end over HTTP")
struct EndToEndTests {
    @Test(arguments: StoreBackend.underTest) func twoDevicesAndAnOfficerConvergeAfterConcurrentOfflineEdits(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let phone = try await server.client(.citizen, name: "Anna", transport: http)
            let annaId = try #require(try phone.account()).account.id
            let laptop = try await server.client(.citizen, name: "Anna", account: annaId, transport: http)
            let officer = try await server.client(.officer, name: "Olga", authority: "gm0344", transport: http)

            let caseId = try phone.createObjection(
                authorityId: "gm0344",
                fields: [.title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-2026-1",
                         .decisionDate: "2026-03-02"],
                submit: true)
            try await phone.sync(transport: http)
            try await laptop.sync(transport: http)
            try await officer.sync(transport: http)
            #expect(try officer.cases().map(\.id) == [caseId])

            // All three offline: the same fields edited on both devices, the officer moves the case on.
            try phone.edit(caseId: caseId, set: [.grounds: "Phone: the permit was on the dashboard", .contactEmail: "phone@example.org"])
            try laptop.edit(caseId: caseId, set: [.grounds: "Laptop: see the attached permit", .contactEmail: "laptop@example.org"])
            try officer.move(caseId: caseId, to: .received, note: "Received by post room")
            try officer.sendMessage(caseId: caseId, body: "We have received your objection.")
            #expect(try phone.detail(caseId: caseId).local.record.fields["grounds"] == "Phone: the permit was on the dashboard",
                    "an edit shows at once, before any sync")

            let phoneReport = try await phone.sync(transport: http)
            let laptopReport = try await laptop.sync(transport: http)
            try await officer.sync(transport: http)
            for client in [phone, laptop, officer] { try await client.sync(transport: http) }

            #expect(phoneReport.applied == 1)
            #expect(laptopReport.merged == 1)
            let views = try [phone, laptop, officer].map { try $0.detail(caseId: caseId) }
            // Converged: the same record everywhere, nothing pending.
            #expect(views[0].local.record == views[1].local.record)
            #expect(views[0].local.record == views[2].local.record)
            #expect(views.allSatisfy { $0.pending.isEmpty })
            let record = views[0].local.record
            #expect(record.status == .received)
            #expect(record.fields["grounds"] == "Phone: the permit was on the dashboard", "prose: the server's copy is kept")
            #expect(record.fields["contactEmail"] == "laptop@example.org", "shared field: the later clock wins")
            #expect(views.allSatisfy { $0.messages.map(\.body) == ["We have received your objection."] })

            // The conflicts are recorded for the citizen (both devices), not for the officer.
            let conflicts = try laptop.openConflicts()
            #expect(Set(conflicts.map(\.conflict.field)) == ["grounds", "contactEmail"])
            #expect(try phone.openConflicts() == conflicts)
            #expect(try officer.openConflicts().isEmpty)
            let grounds = try #require(conflicts.first { $0.conflict.field == "grounds" })
            #expect(grounds.conflict.clientValue == "Laptop: see the attached permit")
            #expect(grounds.conflict.winner == .server)

            // The citizen resolves it on the laptop by keeping the laptop's text; everyone follows.
            try laptop.resolve(conflictId: grounds.id, keep: .mine)
            for client in [laptop, phone, officer] { try await client.sync(transport: http) }
            for client in [phone, laptop, officer] {
                #expect(try client.detail(caseId: caseId).local.record.fields["grounds"] == "Laptop: see the attached permit")
            }
            #expect(try phone.localChecksum() == laptop.localChecksum(), "both devices hold the same citizen scope")
            #expect(try phone.openConflicts().map(\.conflict.field) == ["contactEmail"])
        }
    }

    @Test(arguments: StoreBackend.underTest) func aCitizenCannotReadOrChangeAnothersCase(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.client(.citizen, name: "Anna", transport: http)
            let bert = try await server.client(.citizen, name: "Bert", transport: http)
            let caseId = try anna.createObjection(
                authorityId: "gm0344",
                fields: [.title: "Fine", .grounds: "Private grounds", .decisionReference: "R", .decisionDate: "2026-03-02"],
                submit: true)
            try await anna.sync(transport: http)
            try await bert.sync(transport: http)
            #expect(try bert.cases().isEmpty)
            // Bert forges a push against Anna's case id with his own token.
            let bertDevice = try await server.device(of: try #require(try bert.account()).account.id)
            let forged = Mutation(
                mutationId: 1, caseId: caseId, baseVersion: 2, hlc: HLCTimestamp(millis: 1, counter: 0, node: "x"),
                operation: .edit([FieldChange(field: "grounds", from: "Private grounds", to: "Vandalised")]))
            let response = try await http.push(PushRequest(stamping: bertDevice.clientId, mutations: [forged]), token: bertDevice.token)
            #expect(response.outcomes.first?.code == .caseNotFound)
            #expect(response.outcomes.first?.message?.contains("Private") == false)
            try await anna.sync(transport: http)
            #expect(try anna.detail(caseId: caseId).local.record.fields["grounds"] == "Private grounds")
        }
    }

    @Test(arguments: StoreBackend.underTest) func aDuplicatedPushOverHTTPChangesNothing(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let push = PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId)), .submit(2, caseId: testId("a", by: anna.clientId))])
            let first = try await http.push(push, token: anna.token)
            let state = try await http.pull(cursor: nil, limit: nil, token: anna.token)
            #expect(try await http.push(push, token: anna.token) == first)
            #expect(try await http.pull(cursor: nil, limit: nil, token: anna.token) == state)
        }
    }

    @Test(arguments: StoreBackend.underTest) func everythingButSyncWorksWithTheServerDownAndNothingIsLost(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let client = try await server.live { url in
            try await server.client(.citizen, name: "Anna", transport: HTTPTransport(baseURL: url))
        }
        // The server is gone now. Filing, editing and reading still work.
        let caseId = try client.createObjection(
            authorityId: "gm0344",
            fields: [.title: "Fine", .grounds: "Offline grounds", .decisionReference: "R", .decisionDate: "2026-03-02"],
            submit: true)
        try client.edit(caseId: caseId, set: [.contactPhone: "+31 6 1234 5678"])
        #expect(try client.cases().first?.pendingCount == 3)
        let unreachable = HTTPTransport(baseURL: URL(string: "http://127.0.0.1:1")!, timeout: 2)
        await #expect {
            try await client.sync(transport: unreachable)
        } throws: { error in
            (error as? ClientError)?.code == .unreachable
        }
        #expect(try client.status().pending == 3)
        #expect(try client.status().lastSyncError != nil)
        // Back online: the outbox drains in order.
        try await server.live { url in
            let report = try await client.sync(transport: HTTPTransport(baseURL: url))
            #expect(report.applied == 3)
        }
        #expect(try client.status().pending == 0)
        #expect(try client.detail(caseId: caseId).local.record.status == .submitted)
    }
}
