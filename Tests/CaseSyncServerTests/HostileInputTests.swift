import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncTesting
import CaseSyncServerSQLite
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Every attack a device with an ordinary citizen login was found to have, replayed over real HTTP
/// against a live server on 127.0.0.1: each is refused with its documented code, the server stays up,
/// the case is intact, and an honest device keeps syncing.
@Suite("Hostile input over HTTP")
struct HostileInputTests {
    /// A live server with Anna (a citizen) who filed and submitted one case, and an officer who synced it.
    struct Scene {
        let server: TestServer
        let url: URL
        let anna: RedeemResponse
        let officer: CaseSyncClient
        let http: HTTPTransport
        var caseId: String { testId("anna-case", by: anna.clientId) }

        /// Sends `body` as a push of Anna's device, exactly these bytes.
        func push(_ body: [UInt8], token: String? = nil) async throws -> (status: Int, body: Data) {
            var request = URLRequest(url: url.appendingPathComponent("sync/push"))
            request.httpMethod = "POST"
            request.httpBody = Data(body)
            request.setValue("1", forHTTPHeaderField: ProtocolVersion.headerName)
            request.setValue("Bearer \(token ?? anna.token)", forHTTPHeaderField: "Authorization")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        }

        /// A push of one mutation written as JSON text (`CLIENT` stands for Anna's client id).
        func push(mutation json: String) async throws -> (status: Int, body: Data) {
            let text = #"{"clientId":"\#(anna.clientId)","mutations":[\#(json)]}"#
            return try await push(Array(text.replacingOccurrences(of: "CLIENT", with: anna.clientId).utf8))
        }

        /// The server still answers, Anna's case is as it was, and the officer's device still syncs.
        func expectIntact(_ label: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let (health, _) = try await URLSession.shared.data(from: url.appendingPathComponent("health"))
            #expect(String(decoding: health, as: UTF8.self).contains("ok"), "\(label): the server is down", sourceLocation: sourceLocation)
            let page = try await http.pullPage(cursor: nil, limit: nil, token: anna.token)
            for change in page.changes {
                if let data = change.data { try WireCoding.validate(data) }
            }
            let record = try #require(try page.decoded().changes.compactMap { change -> CaseRecord? in
                if case .case(let record) = change.data { record } else { nil }
            }.first)
            #expect(record.status == .submitted, "\(label)", sourceLocation: sourceLocation)
            #expect(record.fields["decisionOutcome"] == nil, "\(label)", sourceLocation: sourceLocation)
            #expect(record.clocks.values.allSatisfy { $0.node == anna.clientId }, "\(label)", sourceLocation: sourceLocation)
            try await officer.sync(transport: http)
            #expect(try officer.cases().map(\.id) == [caseId], "\(label)", sourceLocation: sourceLocation)
        }
    }

    static func errorCode(_ body: Data) -> ErrorCode? {
        try? WireCoding.decode(ErrorEnvelope.self, from: body).error.code
    }

    func withScene(_ body: @Sendable (Scene) async throws -> Void) async throws {
        let server = try TestServer(determinism: Determinism(stepMillis: 0))
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let officer = try await server.client(.officer, name: "Olga", authority: "gm0344", transport: http)
            let scene = Scene(server: server, url: url, anna: anna, officer: officer, http: http)
            let push = PushRequest(
                stamping: anna.clientId, mutations: [.create(1, caseId: scene.caseId), .submit(2, caseId: scene.caseId)])
            let (status, answer) = try await scene.push(push.jsonBytes)
            #expect(status == 200, "\(String(decoding: answer, as: UTF8.self))")
            try await officer.sync(transport: http)
            try await body(scene)
        }
    }

    @Test func deepNestingIsRefusedWithoutRecursion() async throws {
        try await withScene { scene in
            let depth = 20_000
            let body = #"{"clientId":"\#(scene.anna.clientId)","x":"# + String(repeating: "[", count: depth)
                + String(repeating: "]", count: depth) + #","mutations":[]}"#
            let (status, answer) = try await scene.push(Array(body.utf8))
            #expect(status == 400 && Self.errorCode(answer) == .malformedJSON)
            try await scene.expectIntact("nesting")
        }
    }

    @Test func extremeMutationIdsDoNotOverflow() async throws {
        try await withScene { scene in
            let max = Int64.max
            for ids in [[max, max], [max - 1, max], [max], [Int64.min, Int64.min + 1]] {
                let mutations = ids.map { #"{"mutationId":\#($0),"caseId":"\#(scene.caseId)","hlc":"1772442000001-0000-CLIENT","op":"delete"}"# }
                let (status, answer) = try await scene.push(mutation: mutations.joined(separator: ","))
                #expect((400...409).contains(status), "\(ids)")
                #expect([.invalidRequest, .mutationGap].contains(Self.errorCode(answer)), "\(ids)")
            }
            // A number past 64 bits is refused as such, not wrapped.
            let (status, answer) = try await scene.push(
                mutation: #"{"mutationId":92233720368547758070,"caseId":"\#(scene.caseId)","hlc":"1772442000001-0000-CLIENT","op":"delete"}"#)
            #expect(status == 400 && Self.errorCode(answer) == .invalidRequest)
            try await scene.expectIntact("mutation ids")
        }
    }

    @Test(arguments: [
        // A node that ends in a quote: once wrote invalid JSON into the stored case.
        #"1772442000001-0000-CLIENT\""#,
        // A node that closes the clocks object and forges an officer's decision.
        #"1772442000001-0000-x\"},\"status\":\"decided\",\"fields\":{\"decisionOutcome\":\"upheld\"},\"y\":{\"z"#,
        // Another device's node, an empty one, an enormous one, control characters.
        "1772442000001-0000-someoneelse", "1772442000001-0000-", "1772442000001-0000-" + String(repeating: "a", count: 1_000_000),
        #"1772442000001-0000-CLIENT\u0000"#, "1772442000001-00AB-CLIENT",
    ])
    func forgedClockNodesAreRefused(hlc: String) async throws {
        try await withScene { scene in
            let edit = #"{"mutationId":3,"caseId":"\#(scene.caseId)","baseVersion":2,"hlc":"\#(hlc)","op":"edit","changes":[{"field":"contactEmail","from":null,"to":"a@example.org"}]}"#
            let (status, answer) = try await scene.push(mutation: edit)
            #expect(status == 400 && Self.errorCode(answer) == .invalidRequest, "\(String(decoding: answer.prefix(300), as: UTF8.self))")
            // One more ordinary edit re-saves the case: it must stay clean.
            let honest = #"{"mutationId":3,"caseId":"\#(scene.caseId)","baseVersion":2,"hlc":"1772442000001-0000-CLIENT","op":"edit","changes":[{"field":"contactEmail","from":null,"to":"anna@example.org"}]}"#
            let (okStatus, _) = try await scene.push(mutation: honest)
            #expect(okStatus == 200)
            try await scene.expectIntact("clock node")
        }
    }

    @Test func clockReadingsAheadOfTheServerAreRefusedWithItsTime() async throws {
        try await withScene { scene in
            for hlc in ["9999999999999-ffff-CLIENT", "1772445000000-0000-CLIENT"] { // year 2286; 50 minutes ahead
                let edit = #"{"mutationId":3,"caseId":"\#(scene.caseId)","baseVersion":2,"hlc":"\#(hlc)","op":"edit","changes":[{"field":"contactEmail","from":null,"to":"a@example.org"}]}"#
                let (status, answer) = try await scene.push(mutation: edit)
                #expect(status == 400)
                let envelope = try WireCoding.decode(ErrorEnvelope.self, from: answer)
                #expect(envelope.error.code == .clockAhead)
                #expect(envelope.error.details?["serverTime"] == "2026-03-02T09:00:00.000Z")
            }
            try await scene.expectIntact("future clock")
        }
    }

    @Test(arguments: StoreBackend.underTest) func aDeviceWhoseClockRunsAheadCorrectsItselfAndSyncs(backend: StoreBackend) async throws {
        let server = try await TestServer(backend, determinism: Determinism(stepMillis: 0))
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            // The device's clock is an hour ahead of the server's.
            let ahead = Determinism(start: "2026-03-02T10:00:00.000Z", stepMillis: 0)
            let invitation = try await server.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
            let phone = CaseSyncClient(database: try LocalDatabase.inMemory(), environment: ahead.client)
            try await phone.login(serverURL: url.absoluteString, code: invitation.code, deviceName: "phone", transport: http)
            let caseId = try phone.createObjection(
                authorityId: "gm0344",
                fields: [.title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02"],
                submit: true)
            try phone.edit(caseId: caseId, set: [.contactEmail: "anna@example.org"])
            let report = try await phone.sync(transport: http)
            #expect(report.applied == 3 && report.rejected == 0)
            let record = try phone.detail(caseId: caseId).local.record
            let serverMillis = try #require(Timestamp(iso8601: "2026-03-02T09:00:00.000Z")).millisecondsSince1970
            #expect(record.clocks["contactEmail"].map { $0.millis <= serverMillis } == true)
            // Later edits are taken on the corrected clock.
            try phone.edit(caseId: caseId, set: [.contactPhone: "+31 30 123 4567"])
            #expect(try await phone.sync(transport: http).applied == 1)
        }
    }

    @Test(arguments: StoreBackend.underTest) func aCorrectedClockKeepsTheReadingsTheServerMayHaveApplied(backend: StoreBackend) async throws {
        let server = try await TestServer(backend, determinism: Determinism(stepMillis: 0))
        let lead = Mutex<Int64>(180_000) // the device's clock: three minutes ahead, within the allowance
        let start = try #require(Timestamp(iso8601: "2026-03-02T09:00:00.000Z")).millisecondsSince1970
        let ids = Determinism()
        let environment = ClientEnvironment(
            now: { Timestamp(millisecondsSince1970: start + lead.withLock { $0 }) }, makeId: { ids.makeId() }, sleep: { _ in })
        let transport = GatedTransport(server.transport)
        let invitation = try await server.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
        let phone = CaseSyncClient(database: try LocalDatabase.inMemory(), environment: environment)
        try await phone.login(serverURL: "http://test", code: invitation.code, deviceName: "phone", transport: transport)
        let caseId = try phone.createObjection(
            authorityId: "gm0344",
            fields: [.title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02"],
            submit: false)
        // The push is applied but every answer is lost: the filing stays in the outbox, applied on the server.
        transport.dropAnswers(true)
        await #expect(throws: ClientError.self) { try await phone.sync(transport: transport) }
        transport.dropAnswers(false)
        // Then the device's clock jumps an hour ahead, and the citizen edits.
        lead.withLock { $0 = 3_600_000 }
        try phone.edit(caseId: caseId, set: [.contactEmail: "anna@example.org"])
        let report = try await phone.sync(transport: transport)
        #expect(report.rejected == 0 && report.applied == 2, "the filing answers as before; the edit applies")
        #expect(try phone.deadLetters().isEmpty)
        #expect(try phone.detail(caseId: caseId).local.record.fields["contactEmail"] == "anna@example.org")
    }

    @Test(arguments: [
        ("a raw NUL in a string", "{\"clientId\":\"CLIENT\",\"mutations\":[],\"x\":\"a\u{0}b\"}", ErrorCode.malformedJSON),
        ("trailing bytes", "{\"clientId\":\"CLIENT\",\"mutations\":[]} {}", .malformedJSON),
        ("a duplicate key", "{\"clientId\":\"CLIENT\",\"mutations\":[],\"mutations\":[]}", .malformedJSON),
        ("a lone surrogate", "{\"clientId\":\"CLIENT\",\"mutations\":[],\"x\":\"\\ud800\"}", .malformedJSON),
        ("a leading zero", "{\"clientId\":\"CLIENT\",\"mutations\":[],\"x\":01}", .malformedJSON),
        ("an empty caseId", #"{"clientId":"CLIENT","mutations":[{"mutationId":3,"caseId":"","hlc":"1772442000001-0000-CLIENT","op":"delete"}]}"#, .invalidRequest),
        ("an upper-case caseId", #"{"clientId":"CLIENT","mutations":[{"mutationId":3,"caseId":"5F0C1E2A-0000-4000-8000-00000000C001","hlc":"1772442000001-0000-CLIENT","op":"delete"}]}"#, .invalidRequest),
        ("a field name that is not one", #"{"clientId":"CLIENT","mutations":[{"mutationId":3,"caseId":"61000000-0000-0000-0000-000000000000","hlc":"1772442000001-0000-CLIENT","op":"create","case":{"kind":"objection","authorityId":"gm0344","fields":{"a\"b":"x"}}}]}"#, .invalidRequest),
    ])
    func lenientInputIsRefused(label: String, body: String, code: ErrorCode) async throws {
        try await withScene { scene in
            let (status, answer) = try await scene.push(Array(body.replacingOccurrences(of: "CLIENT", with: scene.anna.clientId).utf8))
            #expect(status == 400 && Self.errorCode(answer) == code, "\(label): \(String(decoding: answer, as: UTF8.self))")
            try await scene.expectIntact(label)
        }
    }

    @Test func invalidUTF8AndHugeIdsAreRefused() async throws {
        try await withScene { scene in
            var invalid = Array(#"{"clientId":"\#(scene.anna.clientId)","mutations":[],"x":""#.utf8)
            invalid += [0xC3, 0x28, 0x22, 0x7D] // an invalid two-byte sequence, then "}
            let (status, answer) = try await scene.push(invalid)
            #expect(status == 400 && Self.errorCode(answer) == .malformedJSON)
            let huge = String(repeating: "a", count: 1_000_000)
            let (hugeStatus, hugeAnswer) = try await scene.push(
                mutation: #"{"mutationId":3,"caseId":"\#(huge)","hlc":"1772442000001-0000-CLIENT","op":"delete"}"#)
            #expect(hugeStatus == 400 && Self.errorCode(hugeAnswer) == .invalidRequest)
            #expect(hugeAnswer.count < 1_000, "the refusal does not echo the id")
            // A field name that is not one is named in the error as <key>, never echoed.
            let name = String(repeating: "Anna de Vries ", count: 10_000)
            let (nameStatus, nameAnswer) = try await scene.push(
                mutation: #"{"mutationId":3,"caseId":"\#(testId("b", by: scene.anna.clientId))","hlc":"1772442000001-0000-CLIENT","op":"create","case":{"kind":"objection","authorityId":"gm0344","fields":{"\#(name)":"x"}}}"#)
            #expect(nameStatus == 400 && Self.errorCode(nameAnswer) == .invalidRequest)
            let message = try WireCoding.decode(ErrorEnvelope.self, from: nameAnswer).error.message
            #expect(message.hasPrefix("mutations[0].case.fields.<key> ") && !message.contains("Anna"), "\(message.prefix(200))")
            try await scene.expectIntact("utf-8 and ids")
        }
    }

    @Test func datesOutsideTheProtocolsRangeAndTextsOverTheByteLimitAreRejected() async throws {
        try await withScene { scene in
            var mutations: [String] = []
            for (offset, date) in ["0000-01-01", "9999-12-31"].enumerated() {
                mutations.append(
                    #"{"mutationId":\#(3 + offset),"caseId":"\#(scene.caseId)","baseVersion":2,"hlc":"1772442000001-0000-CLIENT","op":"edit","changes":[{"field":"decisionDate","from":"2026-03-02","to":"\#(date)"}]}"#)
            }
            // 30,000 four-byte characters: 120,000 bytes, over the 100,000-byte limit.
            let heavy = String(repeating: "🙂", count: 30_000)
            mutations.append(
                #"{"mutationId":5,"caseId":"\#(scene.caseId)","baseVersion":2,"hlc":"1772442000001-0000-CLIENT","op":"edit","changes":[{"field":"grounds","from":"My permit was valid","to":"\#(heavy)"}]}"#)
            let (status, answer) = try await scene.push(mutation: mutations.joined(separator: ","))
            #expect(status == 200)
            let response = try PushResponse(json: answer)
            #expect(response.outcomes.map(\.status) == [.rejected, .rejected, .rejected])
            #expect(response.outcomes.map(\.code) == [.invalidValue, .invalidValue, .invalidValue])
            try await scene.expectIntact("dates and lengths")
        }
    }

    @Test func aHostileServersDeeplyNestedAnswerIsAnErrorOnTheDevice() async throws {
        // A server (or anyone in the middle of a plain-http connection) answers a pull with 100,000 levels.
        let router = Router()
        router.get("/sync/pull") { _, _ -> Response in
            let depth = 100_000
            let body = #"{"changes":[{"seq":1,"type":"case","id":"61000000-0000-0000-0000-000000000000","version":1,"data":"#
                + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + #"}],"cursor":"1","hasMore":false}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        try await serveLocally(router) { url in
            let http = HTTPTransport(baseURL: url)
            await #expect {
                _ = try await http.pullPage(cursor: nil, limit: nil, token: "cst_x")
            } throws: { error in
                guard case .invalidResponse(let reason) = error as? SyncTransportError else { return false }
                return reason.contains("nested deeper")
            }
        }
    }
}
