import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import Synchronization
import Testing

@Suite("Client core: local store, outbox and sync engine")
struct LocalStoreTests {
    static let fields: [CaseField: String] = [
        .title: "Parking fine", .grounds: "Permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02",
    ]

    static func environment() -> ClientEnvironment {
        let counter = Mutex(0)
        return ClientEnvironment(
            now: { Timestamp(millisecondsSince1970: 1_772_443_800_000 + Int64(counter.withLock { $0 += 1; return $0 })) },
            makeId: {
                let digits = String(counter.withLock { $0 += 1; return $0 })
                return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
            },
            sleep: { _ in })
    }

    static func loggedIn(_ transport: ScriptedTransport, database: LocalDatabase? = nil) async throws -> CaseSyncClient {
        let client = CaseSyncClient(database: try database ?? LocalDatabase.inMemory(), environment: environment())
        try await client.login(serverURL: "http://test", code: "CODE", deviceName: nil, transport: transport)
        return client
    }

    static func serverCase(status: CaseStatus, version: Int64 = 2, seq: Int64 = 1) -> SyncChange {
        let record = CaseRecord(
            id: "case-1", kind: .objection, authorityId: "gm0344", citizenId: "anna", status: status,
            fields: Dictionary(uniqueKeysWithValues: fields.map { ($0.key.rawValue, $0.value) }), clocks: [:],
            createdAt: Timestamp(millisecondsSince1970: 0), updatedAt: Timestamp(millisecondsSince1970: 0))
        return SyncChange(seq: seq, type: .case, id: "case-1", caseId: "case-1", version: version, deleted: false, data: .case(record))
    }

    static func checksum(_ changes: [SyncChange]) -> StateChecksum {
        var accumulator = ChecksumAccumulator()
        for change in changes where !change.deleted { accumulator.add(type: change.type, id: change.id, version: change.version) }
        return accumulator.checksum
    }

    /// A database file in a directory of its own (the caller removes the directory).
    static func databaseFile() throws -> (path: String, directory: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return (directory.appendingPathComponent("casesync.sqlite").path, directory)
    }

    @Test func theSenderProfileIsKeptOnTheDevice() async throws {
        let (path, directory) = try Self.databaseFile()
        defer { try? FileManager.default.removeItem(at: directory) }
        let transport = ScriptedTransport()
        let client = try await Self.loggedIn(transport, database: try LocalDatabase(path: path))
        let accountName = try #require(try client.account()).account.displayName
        #expect(try client.senderProfile() == SenderProfile(name: accountName), "the account's name until another is given")
        try client.updateSenderProfile(postalAddress: ["Oudegracht 12", "3511 AR Utrecht"], email: "anna@example.nl")
        try client.updateSenderProfile(name: "Anna de Vries", phone: "06 12345678")
        #expect(throws: ClientError.self) { try client.updateSenderProfile(email: "not an address") }
        let reopened = CaseSyncClient(database: try LocalDatabase(path: path), environment: Self.environment())
        #expect(try reopened.senderProfile() == SenderProfile(
            name: "Anna de Vries", postalAddress: ["Oudegracht 12", "3511 AR Utrecht"], email: "anna@example.nl", phone: "06 12345678"),
            "a refused change leaves the profile as it was")
        let cleared = try reopened.updateSenderProfile(name: "", email: "")
        #expect(cleared.name == accountName && cleared.email == nil && cleared.phone == "06 12345678")
    }

    @Test func theOutboxSurvivesARestart() async throws {
        let (path, directory) = try Self.databaseFile()
        defer { try? FileManager.default.removeItem(at: directory) }
        let transport = ScriptedTransport()
        let first = try await Self.loggedIn(transport, database: try LocalDatabase(path: path))
        let caseId = try first.createObjection(authorityId: "gm0344", fields: Self.fields, submit: true)
        try first.sendMessage(caseId: caseId, body: "Note to self")

        let reopened = CaseSyncClient(database: try LocalDatabase(path: path), environment: Self.environment())
        #expect(try reopened.pendingMutations().map(\.mutation.mutationId) == [1, 2, 3])
        #expect(try reopened.cases().map(\.id) == [caseId])
        #expect(try reopened.detail(caseId: caseId).local.record.status == .submitted)
        let next = try reopened.sendMessage(caseId: caseId, body: "Another")
        #expect(try reopened.pendingMutations().last?.mutation.mutationId == 4, "mutation ids stay gapless: \(next)")
    }

    @Test func editsTheRulesRefuseAreRefusedOfflineWithTheirReason() async throws {
        let transport = ScriptedTransport(pull: [
            .success(PullResponse(changes: [Self.serverCase(status: .decided)], cursor: "1", hasMore: false,
                                  checksum: Self.checksum([Self.serverCase(status: .decided)])))
        ])
        let client = try await Self.loggedIn(transport)
        try await client.sync(transport: transport)
        #expect {
            try client.edit(caseId: "case-1", set: [.grounds: "New grounds"])
        } throws: { error in
            let error = error as? ClientError
            return error?.ruleCode == .fieldLocked && error?.message == "the case is decided; the grounds can no longer change"
        }
        #expect {
            try client.move(caseId: "case-1", to: .closed)
        } throws: { error in (error as? ClientError)?.ruleCode == .forbiddenForRole }
        #expect(try client.pendingMutations().isEmpty)
    }

    @Test func aRejectedMutationGoesToTheDeadLettersAndTheRestGoOn() async throws {
        let transport = ScriptedTransport(push: [
            .success(PushResponse(outcomes: [
                MutationOutcome(mutationId: 1, status: .applied, version: 1),
                .rejected(2, .invalidTransition, "the case was withdrawn meanwhile"),
                MutationOutcome(mutationId: 3, status: .applied, version: 2),
            ], lastMutationId: 3))
        ])
        let client = try await Self.loggedIn(transport)
        let caseId = try client.createObjection(authorityId: "gm0344", fields: Self.fields, submit: true)
        try client.edit(caseId: caseId, set: [.contactEmail: "anna@example.org"])
        let report = try await client.sync(transport: transport)
        #expect(report.applied == 2 && report.rejected == 1)
        #expect(try client.pendingMutations().isEmpty)
        let letters = try client.deadLetters()
        #expect(letters.map(\.mutation.mutationId) == [2])
        #expect(letters.first?.code == .invalidTransition)
        #expect(letters.first?.message == "the case was withdrawn meanwhile")
    }

    @Test func lostConnectionsAreRetriedWithGrowingWaits() async throws {
        let waits = Mutex<[Duration]>([])
        var environment = Self.environment()
        environment.sleep = { duration in waits.withLock { $0.append(duration) } }
        let transport = ScriptedTransport(push: [.failure(.unreachable("reset")), .failure(.unreachable("reset"))])
        let client = CaseSyncClient(database: try LocalDatabase.inMemory(), environment: environment)
        try await client.login(serverURL: "http://test", code: "C", deviceName: nil, transport: transport)
        try client.createObjection(authorityId: "gm0344", fields: Self.fields, submit: false)
        let report = try await client.sync(transport: transport)
        #expect(report.applied == 1)
        #expect(waits.withLock { $0 } == [.milliseconds(250), .milliseconds(500)])
        #expect(transport.log.withLock { $0.pushes.count } == 3)
        #expect(transport.log.withLock { $0.pushes.map(\.mutations) }.allSatisfy { $0 == transport.log.withLock { $0.pushes[0].mutations } },
                "every retry sends the same mutations with the same ids")
    }

    @Test func aServerRefusalIsNotRetried() async throws {
        let transport = ScriptedTransport(push: [.failure(.server(status: 409, error: .init(code: .mutationGap, message: "gap")))])
        let client = try await Self.loggedIn(transport)
        try client.createObjection(authorityId: "gm0344", fields: Self.fields, submit: false)
        await #expect { try await client.sync(transport: transport) } throws: { error in
            (error as? ClientError)?.ruleCode == .mutationGap
        }
        #expect(transport.log.withLock { $0.pushes.count } == 1)
        #expect(try client.pendingMutations().count == 1, "nothing is lost")
    }

    @Test func aServerThatCannotServeJustNowIsRetriedThenReportedAsTemporary() async throws {
        // A database failing over: the instance answers 503 (or 500) for a while.
        let unavailable = SyncTransportError.server(status: 503, error: .init(code: .unavailable, message: "the database does not answer"))
        let transport = ScriptedTransport(push: Array(repeating: .failure(unavailable), count: 4))
        let client = try await Self.loggedIn(transport)
        try client.createObjection(authorityId: "gm0344", fields: Self.fields, submit: false)
        await #expect { try await client.sync(transport: transport) } throws: { error in
            (error as? ClientError)?.code == .unavailable
                && (error as? ClientError)?.message.contains("your changes are kept") == true
        }
        #expect(transport.log.withLock { $0.pushes.count } == RetryPolicy().maxAttempts, "retried with growing waits first")
        #expect(try client.pendingMutations().count == 1, "nothing is lost")
    }

    @Test func aChecksumMismatchMakesTheClientPullItsWholeScopeAgain() async throws {
        let good = [Self.serverCase(status: .received, version: 3, seq: 7)]
        let transport = ScriptedTransport(pull: [
            // The server's answer says there are two records, the client holds one: it must repair.
            .success(PullResponse(changes: [Self.serverCase(status: .submitted, version: 2, seq: 4)], cursor: "4", hasMore: false,
                                  checksum: Self.checksum(good + [SyncChange(seq: 8, type: .event, id: "e", caseId: "case-1", version: 1, deleted: false, data: nil)]))),
            .success(PullResponse(changes: good, cursor: "7", hasMore: false, checksum: Self.checksum(good))),
        ])
        let client = try await Self.loggedIn(transport)
        let report = try await client.sync(transport: transport)
        #expect(report.repaired)
        #expect(transport.log.withLock { $0.pulls } == [nil, nil], "the second pull starts from the beginning")
        #expect(try client.localChecksum() == Self.checksum(good))
        #expect(try client.cases().first?.record.status == .received)
    }

    @Test func pendingEditsAreRebasedOverNewlyPulledState() async throws {
        let transport = ScriptedTransport(pull: [
            .success(PullResponse(changes: [Self.serverCase(status: .submitted)], cursor: "1", hasMore: false,
                                  checksum: Self.checksum([Self.serverCase(status: .submitted)]))),
        ])
        let client = try await Self.loggedIn(transport)
        try await client.pull(transport: transport)
        try client.edit(caseId: "case-1", set: [.contactPhone: "+31 6 0000 0000"])
        var changed = Self.serverCase(status: .received, version: 3, seq: 2)
        if case .case(var record) = changed.data {
            record.fields["contactEmail"] = "officer-set@example.org"
            changed.data = .case(record)
        }
        let second = ScriptedTransport(pull: [.success(PullResponse(changes: [changed], cursor: "2", hasMore: false, checksum: Self.checksum([changed])))])
        try await client.pull(transport: second)
        let detail = try client.detail(caseId: "case-1")
        #expect(detail.local.record.status == .received, "server state underneath")
        #expect(detail.local.record.fields["contactPhone"] == "+31 6 0000 0000", "pending edit on top")
        #expect(detail.local.record.fields["contactEmail"] == "officer-set@example.org")
        #expect(detail.pending.first?.predicted?.status == .applied)
    }
}

@Suite("Dead letters of dependent mutations")
struct DependentRejectionTests {
    @Test func changesOfACaseWhoseFilingWasRefusedSaySo() async throws {
        let transport = ScriptedTransport(push: [
            .success(PushResponse(outcomes: [
                .rejected(1, .invalidValue, "authorityId must name the authority"),
                .rejected(2, .caseNotFound, "no case with this id is visible to you"),
                .rejected(3, .caseNotFound, "no case with this id is visible to you"),
            ], lastMutationId: 3))
        ])
        let client = try await LocalStoreTests.loggedIn(transport)
        let caseId = try client.createObjection(authorityId: "gm0344", fields: LocalStoreTests.fields, submit: true)
        try client.sendMessage(caseId: caseId, body: "Hello")
        let report = try await client.sync(transport: transport)
        #expect(report.rejected == 3)
        let letters = try client.deadLetters()
        #expect(letters.map(\.code) == [.invalidValue, .dependsOnRejected, .dependsOnRejected])
        #expect(letters[1].message == "not applied: filing this case was refused (authorityId must name the authority)")
        #expect(try client.cases().isEmpty, "the refused case does not linger on the device")
        #expect(try client.pendingMutations().isEmpty, "nothing blocks the outbox")
    }
}
