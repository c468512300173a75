import CaseSyncProtocol
import CaseSyncServer
import CaseSyncTesting
import CaseSyncServerSQLite
import Testing

@Suite("Push and pull, against each store")
struct PushPullTests {
    @Test(arguments: StoreBackend.underTest) func aDuplicatedPushReturnsTheFirstOutcomesAndChangesNothing(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        let push = PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("case-a", by: anna.clientId)), .submit(2, caseId: testId("case-a", by: anna.clientId))])
        let first = try await server.transport.push(push, token: anna.token)
        let before = try await server.transport.pull(cursor: nil, limit: nil, token: anna.token)
        let again = try await server.transport.push(push, token: anna.token)
        let after = try await server.transport.pull(cursor: nil, limit: nil, token: anna.token)
        #expect(first.outcomes.map(\.status) == [.applied, .applied])
        #expect(again == first)
        #expect(after == before)
        #expect(before.changes.first { $0.type == .case }?.version == 2)
        // A retry that overlaps: the old mutation answers from memory, the new one applies.
        let overlap = PushRequest(
            stamping: anna.clientId,
            mutations: [.submit(2, caseId: testId("case-a", by: anna.clientId)), Mutation(
                mutationId: 3, caseId: testId("case-a", by: anna.clientId), baseVersion: 2, hlc: HLCTimestamp(millis: 9_000, counter: 0, node: "t"),
                operation: .edit([FieldChange(field: "contactEmail", from: nil, to: "anna@example.org")]))])
        let mixed = try await server.transport.push(overlap, token: anna.token)
        #expect(mixed.outcomes[0] == first.outcomes[1])
        #expect(mixed.outcomes[1].status == .applied && mixed.outcomes[1].version == 3)
        #expect(mixed.lastMutationId == 3)
    }

    @Test(arguments: StoreBackend.underTest) func aGapInMutationIdsIsRefusedWholeAndNamesTheExpectedId(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId))]), token: anna.token)
        let before = try await server.transport.pull(cursor: nil, limit: nil, token: anna.token)
        await #expect {
            _ = try await server.transport.push(
                PushRequest(stamping: anna.clientId, mutations: [.create(5, caseId: testId("b", by: anna.clientId))]), token: anna.token)
        } throws: { error in
            guard case .server(409, let body) = error as? SyncTransportError else { return false }
            return body.code == .mutationGap && body.details?["expectedMutationId"] == "2"
        }
        #expect(try await server.transport.pull(cursor: nil, limit: nil, token: anna.token) == before)
    }

    @Test(arguments: StoreBackend.underTest) func aReusedMutationIdWithOtherContentIsRefusedWhole(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId))]), token: anna.token)
        let before = try await server.transport.pull(cursor: nil, limit: nil, token: anna.token)
        // A device restored from an old backup numbers a new change 1 again.
        await #expect {
            _ = try await server.transport.push(
                PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("b", by: anna.clientId)), .create(2, caseId: testId("c", by: anna.clientId))]), token: anna.token)
        } throws: { error in
            guard case .server(409, let body) = error as? SyncTransportError else { return false }
            return body.code == .mutationIdReused && body.details?["mutationId"] == "1"
        }
        #expect(try await server.transport.pull(cursor: nil, limit: nil, token: anna.token) == before)
    }

    /// The outcome kept for a repeat holds no content (conflicting values could be anyone's words).
    @Test(arguments: StoreBackend.underTest) func aRepeatedMergeIsAnsweredWithoutItsValues(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let phone = try await server.device(.citizen, name: "Anna")
        let laptop = try await server.device(of: phone.account.id)
        let caseId = testId("a", by: phone.clientId)
        let grounds = { (id: Int64, text: String, millis: Int64) in
            Mutation(mutationId: id, caseId: caseId, baseVersion: 1, hlc: HLCTimestamp(millis: millis, counter: 0, node: "t"),
                     operation: .edit([FieldChange(field: "grounds", from: "My permit was valid", to: text)]))
        }
        _ = try await server.transport.push(PushRequest(stamping: phone.clientId, mutations: [.create(1, caseId: caseId), grounds(2, "from the phone", 10)]), token: phone.token)
        let first = try await server.transport.push(PushRequest(stamping: laptop.clientId, mutations: [grounds(1, "from the laptop", 20)]), token: laptop.token)
        let conflict = try #require(first.outcomes.first?.conflicts?.first)
        #expect(first.outcomes.first?.status == .merged && [conflict.clientValue, conflict.serverValue] == ["from the laptop", "from the phone"])
        // The answer was lost: the same push again gets the same outcome, its conflict without the values.
        let again = try await server.transport.push(PushRequest(stamping: laptop.clientId, mutations: [grounds(1, "from the laptop", 20)]), token: laptop.token)
        #expect(again.outcomes == [first.outcomes[0].kept] && again.outcomes != first.outcomes)
        #expect(again.outcomes.first?.conflicts?.first.map { [$0.field, $0.policy.rawValue, $0.winner.rawValue] } == ["grounds", conflict.policy.rawValue, conflict.winner.rawValue])
    }

    @Test(arguments: StoreBackend.underTest) func malformedBatchesAreRefused(backend: StoreBackend) async throws {
        let server = try await TestServer(backend, limits: ProtocolLimits(maxMutationsPerPush: 2))
        let anna = try await server.device(.citizen, name: "Anna")
        let bert = try await server.device(.citizen, name: "Bert")
        let cases: [(PushRequest, ErrorCode)] = [
            (PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId)), .create(3, caseId: testId("b", by: anna.clientId))]), .invalidRequest),
            (PushRequest(stamping: anna.clientId, mutations: (1...3).map { .create($0, caseId: testId("c\($0)", by: anna.clientId)) }), .batchTooLarge),
            (PushRequest(stamping: bert.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId))]), .clientMismatch),
        ]
        for (request, code) in cases {
            await #expect {
                _ = try await server.transport.push(request, token: anna.token)
            } throws: { error in
                guard case .server(_, let body) = error as? SyncTransportError else { return false }
                return body.code == code
            }
        }
        #expect(try await server.transport.pull(cursor: nil, limit: nil, token: anna.token).changes.isEmpty)
    }

    @Test(arguments: StoreBackend.underTest) func aRejectedMutationDoesNotBlockTheOnesBehindIt(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        let receive = Mutation(
            mutationId: 3, caseId: testId("a", by: anna.clientId), baseVersion: 2, hlc: HLCTimestamp(millis: 5_000, counter: 0, node: "t"),
            operation: .transition(StatusTransition(to: .received)))
        let message = Mutation(
            mutationId: 4, caseId: testId("a", by: anna.clientId), baseVersion: 2, hlc: HLCTimestamp(millis: 5_001, counter: 0, node: "t"),
            operation: .addMessage(id: testId("m-1", by: anna.clientId), body: "Any news?"))
        let response = try await server.transport.push(
            PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId)), .submit(2, caseId: testId("a", by: anna.clientId)), receive, message]),
            token: anna.token)
        #expect(response.outcomes.map(\.status) == [.applied, .applied, .rejected, .applied])
        #expect(response.outcomes[2].code == .forbiddenForRole)
        #expect(response.lastMutationId == 4)
    }

    @Test(arguments: StoreBackend.underTest) func eachSideSeesOnlyItsOwnScope(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let (anna, bert, olga, zeno) = try await server.twoCitizensAndTwoOfficers()
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId))]), token: anna.token)
        // A draft is the citizen's alone.
        #expect(try await server.transport.pull(cursor: nil, limit: nil, token: olga.token).changes.isEmpty)
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: [.submit(2, caseId: testId("a", by: anna.clientId))]), token: anna.token)
        let officerView = try await server.transport.pull(cursor: nil, limit: nil, token: olga.token)
        #expect(Set(officerView.changes.map(\.type)) == [.case, .event])
        #expect(officerView.changes.count == 3, "the case, its created event and its submitted event")
        for outsider in [bert, zeno] {
            let view = try await server.transport.pull(cursor: nil, limit: nil, token: outsider.token)
            #expect(view.changes.isEmpty)
            #expect(view.checksum == StateChecksum(count: 0, sum: 0))
        }
        // Bert cannot touch Anna's case, and the answer is the one for a case that does not exist.
        let probe = Mutation(
            mutationId: 1, caseId: testId("a", by: anna.clientId), baseVersion: 2, hlc: HLCTimestamp(millis: 1, counter: 0, node: "b"),
            operation: .addMessage(id: testId("m-x", by: bert.clientId), body: "hi"))
        let missing = Mutation(
            mutationId: 2, caseId: testId("nope", by: anna.clientId), baseVersion: 2, hlc: HLCTimestamp(millis: 1, counter: 0, node: "b"),
            operation: .addMessage(id: testId("m-y", by: bert.clientId), body: "hi"))
        let outcomes = try await server.transport.push(PushRequest(stamping: bert.clientId, mutations: [probe, missing]), token: bert.token)
        #expect(outcomes.outcomes.map(\.code) == [.caseNotFound, .caseNotFound])
        #expect(outcomes.outcomes[0].message == outcomes.outcomes[1].message)
        // Messages ids are per server: reusing another's id is refused without saying whose it was.
        #expect(try await server.transport.pull(cursor: nil, limit: nil, token: anna.token).changes.count == 3)
    }

    @Test(arguments: StoreBackend.underTest) func pullPagesCoverEverythingOnceAndTheLastCarriesTheChecksum(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        let mutations = (1...25).map { Mutation.create(Int64($0), caseId: testId("case-\($0)", by: anna.clientId)) }
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: mutations), token: anna.token)
        var cursor: String?
        var seen: [SyncChange] = []
        var pages: [PullResponse] = []
        repeat {
            let page = try await server.transport.pull(cursor: cursor, limit: 10, token: anna.token)
            pages.append(page)
            seen += page.changes
            cursor = page.cursor
        } while pages.last!.hasMore && pages.count < 20
        #expect(pages.map(\.changes.count) == [10, 10, 10, 10, 10])
        #expect(pages.map(\.hasMore) == [true, true, true, true, false])
        #expect(pages.dropLast().allSatisfy { $0.checksum == nil })
        #expect(Set(seen.map(\.id)).count == 50)
        #expect(seen.map(\.seq) == seen.map(\.seq).sorted())
        var accumulator = ChecksumAccumulator()
        for change in seen { accumulator.add(type: change.type, id: change.id, version: change.version) }
        #expect(pages.last?.checksum == accumulator.checksum)
        // Nothing new: an empty page at the same cursor with the same checksum.
        let idle = try await server.transport.pull(cursor: cursor, limit: 10, token: anna.token)
        #expect(idle.changes.isEmpty && idle.cursor == cursor && idle.checksum == accumulator.checksum)
    }

    @Test(arguments: StoreBackend.underTest) func badCursorsAreNamed(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        for (cursor, code) in [("abc", ErrorCode.invalidCursor), ("-1", .invalidCursor), ("999", .resyncRequired)] {
            await #expect {
                _ = try await server.transport.pull(cursor: cursor, limit: nil, token: anna.token)
            } throws: { error in
                guard case .server(_, let body) = error as? SyncTransportError else { return false }
                return body.code == code
            }
        }
    }

    @Test(arguments: StoreBackend.underTest) func aDeletedDraftLeavesTombstonesAndTheChecksumDropsIt(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId))]), token: anna.token)
        let first = try await server.transport.pull(cursor: nil, limit: nil, token: anna.token)
        let delete = Mutation(
            mutationId: 2, caseId: testId("a", by: anna.clientId), baseVersion: 1, hlc: HLCTimestamp(millis: 9, counter: 0, node: "t"), operation: .delete)
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: [delete]), token: anna.token)
        let second = try await server.transport.pull(cursor: first.cursor, limit: nil, token: anna.token)
        #expect(second.changes.count == 2)
        #expect(second.changes.allSatisfy { $0.deleted && $0.data == nil })
        #expect(second.checksum == StateChecksum(count: 0, sum: 0))
    }

    @Test(arguments: StoreBackend.underTest) func loginCodesWorkOnceAndTokensAreChecked(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let invitation = try await server.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
        let lowerCase = invitation.code.lowercased().replacingOccurrences(of: "-", with: " ")
        let device = try await server.transport.redeem(RedeemRequest(code: lowerCase, deviceName: nil))
        #expect(device.account.displayName == "Anna" && device.token.hasPrefix("cst_"))
        for attempt in [invitation.code, "AAAA-BBBB-CCCC"] {
            await #expect {
                _ = try await server.transport.redeem(RedeemRequest(code: attempt, deviceName: nil))
            } throws: { error in
                guard case .server(401, let body) = error as? SyncTransportError else { return false }
                return body.code == .invalidLoginCode
            }
        }
        await #expect {
            _ = try await server.transport.pull(cursor: nil, limit: nil, token: device.token + "x")
        } throws: { error in
            guard case .server(401, let body) = error as? SyncTransportError else { return false }
            return body.code == .unauthorized
        }
    }
}

@Suite("Record ids")
struct RecordIdTests {
    @Test(arguments: StoreBackend.underTest) func aNewCaseCannotTakeTheIdOfAnotherRecord(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId))]), token: anna.token)
        let page = try await server.transport.pull(cursor: nil, limit: nil, token: anna.token)
        let eventId = try #require(page.changes.first { $0.type == .event }?.id)
        // The server's ids are not in the device's part of the id space: refused before anything is looked up.
        await #expect {
            try await server.transport.push(
                PushRequest(stamping: anna.clientId, mutations: [.create(2, caseId: eventId)]), token: anna.token)
        } throws: { error in
            guard case .server(400, let body) = error as? SyncTransportError else { return false }
            return body.code == .invalidRequest
        }
        // Its own case, created again, is one it can see: that answer names it.
        let again = try await server.transport.push(
            PushRequest(stamping: anna.clientId, mutations: [.create(2, caseId: testId("a", by: anna.clientId))]), token: anna.token)
        #expect(again.outcomes.first?.code == .caseExists)
        #expect(try await server.transport.pull(cursor: nil, limit: nil, token: anna.token) == page, "the event is untouched")
    }
}

@Suite("Deleting a draft")
struct DraftDeletionTests {
    @Test(arguments: StoreBackend.underTest) func aDeletedDraftTakesItsConflictRecordsWithIt(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let phone = try await server.device(.citizen, name: "Anna")
        let laptop = try await server.device(of: phone.account.id)
        _ = try await server.transport.push(PushRequest(stamping: phone.clientId, mutations: [.create(1, caseId: testId("a", by: phone.clientId))]), token: phone.token)
        let edit = { (id: Int64, text: String, millis: Int64) in
            Mutation(mutationId: id, caseId: testId("a", by: phone.clientId), baseVersion: 1, hlc: HLCTimestamp(millis: millis, counter: 0, node: "t"),
                     operation: .edit([FieldChange(field: "grounds", from: "My permit was valid", to: text)]))
        }
        _ = try await server.transport.push(PushRequest(stamping: phone.clientId, mutations: [edit(2, "phone", 10)]), token: phone.token)
        let merged = try await server.transport.push(PushRequest(stamping: laptop.clientId, mutations: [edit(1, "laptop", 20)]), token: laptop.token)
        #expect(merged.outcomes.first?.status == .merged)
        let before = try await server.transport.pull(cursor: nil, limit: nil, token: phone.token)
        #expect(before.changes.contains { $0.type == .conflict })
        let delete = Mutation(mutationId: 3, caseId: testId("a", by: phone.clientId), baseVersion: 2, hlc: HLCTimestamp(millis: 30, counter: 0, node: "t"), operation: .delete)
        _ = try await server.transport.push(PushRequest(stamping: phone.clientId, mutations: [delete]), token: phone.token)
        let after = try await server.transport.pull(cursor: before.cursor, limit: nil, token: phone.token)
        #expect(Set(after.changes.filter(\.deleted).map(\.type)) == [.case, .event, .conflict])
        #expect(after.checksum == StateChecksum(count: 0, sum: 0))
    }
}

@Suite("Pages and scopes, against each store")
struct PageScopeTests {
    /// Pages read a scope's own changes only, whatever scope sorts next to it among the stored ones
    /// (an authority or citizen after it, with changes of its own), and page boundaries inside a scope
    /// neither skip nor borrow a change.
    @Test(arguments: StoreBackend.underTest) func aPageHoldsItsScopesChangesOnlyWhateverScopeSortsNextToIt(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        // Zeno's gm0193 sorts before Olga's gm0344: his last page ends where gm0344's changes begin.
        let (anna, bert, olga, zeno) = try await server.twoCitizensAndTwoOfficers()
        var filed: [String: [String]] = [:]
        for citizen in [anna, bert] {
            let (early, late) = (testId("early", by: citizen.clientId), testId("late", by: citizen.clientId))
            _ = try await server.transport.push(
                PushRequest(stamping: citizen.clientId, mutations: [
                    .create(1, caseId: early, authority: "gm0193"), .submit(2, caseId: early),
                    .create(3, caseId: late, authority: "gm0344"), .submit(4, caseId: late),
                ]), token: citizen.token)
            filed[citizen.clientId] = [early, late]
        }
        let expected: [(String, RedeemResponse, Set<String>)] = [
            ("Anna", anna, Set(filed[anna.clientId]!)), ("Bert", bert, Set(filed[bert.clientId]!)),
            ("Zeno", zeno, [filed[anna.clientId]![0], filed[bert.clientId]![0]]),
            ("Olga", olga, [filed[anna.clientId]![1], filed[bert.clientId]![1]]),
        ]
        for (name, device, cases) in expected {
            var (cursor, seen, pages): (String?, [String], Int) = (nil, [], 0)
            while pages < 50 {
                let page = try await server.transport.pull(cursor: cursor, limit: 1, token: device.token)
                seen += page.changes.map(\.caseId)
                (cursor, pages) = (page.cursor, pages + 1)
                if !page.hasMore { break }
            }
            let whole = try await server.transport.pull(cursor: nil, limit: nil, token: device.token)
            #expect(Set(seen) == cases, "\(name) paged through \(Set(seen).subtracting(cases).count) cases of another scope")
            #expect(seen == whole.changes.map(\.caseId), "\(name)'s pages of one change each add up to the whole")
            #expect(Set(whole.changes.map(\.caseId)) == cases, "\(name)'s whole scope in one page")
        }
    }
}

extension TestServer {
    /// Anna and Bert, citizens; Olga, an officer of gm0344, and Zeno, one of gm0193.
    func twoCitizensAndTwoOfficers() async throws -> (RedeemResponse, RedeemResponse, RedeemResponse, RedeemResponse) {
        (
            try await device(.citizen, name: "Anna"), try await device(.citizen, name: "Bert"),
            try await device(.officer, name: "Olga", authority: "gm0344"), try await device(.officer, name: "Zeno", authority: "gm0193")
        )
    }
}
