import CaseSyncProtocol
import Foundation
import Testing

@Suite("Fast JSON writer")
struct JSONWriterTests {
    static let now = Timestamp(millisecondsSince1970: 1_772_443_800_123)
    static let clock = HLCTimestamp(millis: 1_772_443_800_000, counter: 3, node: "client-1")
    static let tricky = "Quote \" backslash \\ slash / newline \n tab \t bell \u{07} é 漢 🙂"
    static let caseId = "5f0c1e2a-0000-4000-8000-00000000c001"

    /// The writer's bytes equal Foundation's encoder (sorted keys) byte for byte, and decode back.
    func check<T: Codable & Equatable & JSONWritable>(_ value: T) throws {
        let fast = Data(value.jsonBytes)
        let foundation = try WireCoding.encoder().encode(value)
        #expect(String(decoding: fast, as: UTF8.self) == String(decoding: foundation, as: UTF8.self))
        #expect(try WireCoding.decoder().decode(T.self, from: fast) == value)
    }

    @Test func records() throws {
        try check(CaseRecord(
            id: "c1", kind: .objection, authorityId: "gm0344", citizenId: "anna", status: .inReview,
            fields: ["grounds": Self.tricky, "title": "T", "zeta": "", "alpha": "1"], clocks: ["grounds": Self.clock],
            createdAt: Self.now, updatedAt: Self.now))
        try check(TimelineEvent(id: "e", caseId: "c1", type: .statusChanged, at: Self.now, actorRole: .officer, status: .received, note: Self.tricky))
        try check(TimelineEvent(id: "e", caseId: "c1", type: .created, at: Self.now, actorRole: .citizen))
        try check(TimelineEvent(id: "e", caseId: "c1", type: .postponed, at: Self.now, actorRole: .officer, note: "n", weeks: 4, consent: false))
        try check(TimelineEvent(
            id: "e", caseId: "c1", type: .paused, at: Self.now, actorRole: .officer, effectiveDate: CalendarDate("2026-04-20")))
        try check(CaseMessage(id: "m", caseId: "c1", authorRole: .citizen, authorName: "Anna", body: Self.tricky, sentAt: Self.now))
        let conflict = FieldConflict(field: "grounds", policy: .citizenProse, winner: .server, clientValue: "a", serverValue: nil)
        try check(ConflictRecord(id: "k", caseId: "c1", conflict: conflict, clientId: "c", mutationId: 9, createdAt: Self.now))
        try check(ConflictRecord(id: "k", caseId: "c1", conflict: conflict, clientId: "c", mutationId: 9, createdAt: Self.now, resolution: .mine))
        try check(MutationOutcome(mutationId: 3, status: .merged, version: 4, conflicts: [conflict]))
        try check(MutationOutcome.rejected(4, .fieldLocked, Self.tricky))
        try check(PushResponse(outcomes: [MutationOutcome(mutationId: 1, status: .applied, version: 1)], lastMutationId: 1))
        try check(StateChecksum(count: 3, sum: 0xdead_beef))
    }

    @Test(arguments: WireTypesTests.operations)
    func mutations(operation: MutationOperation) throws {
        try check(Mutation(mutationId: 7, caseId: "c", baseVersion: 2, hlc: Self.clock, operation: operation))
        try check(Mutation(mutationId: 7, caseId: "c", baseVersion: nil, hlc: Self.clock, operation: operation))
    }

    @Test(arguments: WireTypesTests.operations)
    func theFastReaderReadsWhatTheWriterWrites(operation: MutationOperation) throws {
        let request = PushRequest(clientId: "c\"1", mutations: [
            Mutation(mutationId: 7, caseId: Self.caseId, baseVersion: 2, hlc: Self.clock, operation: operation),
            Mutation(mutationId: 8, caseId: Self.caseId, baseVersion: nil, hlc: Self.clock, operation: operation),
        ])
        #expect(try PushRequest(json: request.jsonBytes) == request)
        let response = PushResponse(outcomes: [
            MutationOutcome(mutationId: 7, status: .merged, version: 3, conflicts: [
                FieldConflict(field: "grounds", policy: .citizenProse, winner: .server, clientValue: Self.tricky, serverValue: nil)]),
            .rejected(8, .fieldLocked, Self.tricky),
        ], lastMutationId: 8)
        #expect(try PushResponse(json: response.jsonBytes) == response)
    }

    @Test(arguments: [Int64.min, -1_000_000_007, -5, 0, 7, 1_772_443_800_000, Int64.max])
    func integersAreWrittenAsDecimal(value: Int64) {
        var writer = JSONWriter()
        writer.int(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
    }

    @Test func clockReadingsArePadded() throws {
        for clock in [HLCTimestamp(millis: 0, counter: 0, node: "a"), HLCTimestamp(millis: 42, counter: 0xbeef, node: "k3vq7m2x"),
                      HLCTimestamp(millis: 9_999_999_999_999, counter: 0xffff, node: "z")] {
            let text = clock.description
            #expect(HLCTimestamp(text) == clock)
            try check(CaseRecord(
                id: "c1", kind: .objection, authorityId: "gm0344", citizenId: "anna", status: .draft, fields: ["title": "T"],
                clocks: ["title": clock], createdAt: Self.now, updatedAt: Self.now))
        }
        #expect(HLCTimestamp(millis: 42, counter: 0xbe, node: "n").description == "0000000000042-00be-n")
        #expect(HLCTimestamp("1772443800000-00be-node-with-dashes") == HLCTimestamp(millis: 1_772_443_800_000, counter: 0xbe, node: "node-with-dashes"))
        for bad in ["177244380000-0000-a", "1772443800000-000g-a", "1772443800000_0000-a", "1772443800000-0000", "+772443800000-0000-a", ""] {
            #expect(HLCTimestamp(bad) == nil, "\(bad)")
        }
    }

    @Test func theReaderNamesThePropertyThatIsWrong() {
        let body = Array(#"{"clientId":"c","mutations":[{"mutationId":"one","caseId":"a","hlc":"0000000000001-0000-n","op":"delete"}]}"#.utf8)
        #expect {
            _ = try PushRequest(json: body)
        } throws: { error in
            WireCoding.describe(error) == "mutations[0].mutationId should be a whole number"
        }
    }

    @Test func fingerprintsDifferWithContent() {
        let a = Mutation(mutationId: 1, caseId: "c", baseVersion: 1, hlc: Self.clock, operation: .addMessage(id: "m", body: "x"))
        var b = a
        b.operation = .addMessage(id: "m", body: "y")
        #expect(a.fingerprint == a.fingerprint && a.fingerprint != b.fingerprint)
    }
}
