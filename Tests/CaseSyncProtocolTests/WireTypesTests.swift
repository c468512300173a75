import CaseSyncProtocol
import Foundation
import Testing

@Suite("Wire types")
struct WireTypesTests {
    @Test(arguments: ["1970-01-01T00:00:00.000Z", "2026-03-02T09:30:00.123Z", "2000-02-29T23:59:59.999Z", "1969-12-31T23:59:59.000Z"])
    func timestampsRoundTrip(text: String) throws {
        let timestamp = try #require(Timestamp(iso8601: text))
        #expect(timestamp.description == text)
    }

    @Test func timestampsAgreeWithFoundation() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for millis in stride(from: Int64(-86_400_000), to: 4_000_000_000_000, by: 97_654_321_987) {
            let ours = Timestamp(millisecondsSince1970: millis).description
            #expect(ours == formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000)))
        }
    }

    @Test func recordsReadWithoutFoundationAsFoundationReadsThem() throws {
        let record = CaseRecord(
            id: "5f0c1e2a-0000-4000-8000-00000000c001", kind: .objection, authorityId: "gm0344", citizenId: "c1", status: .received,
            fields: ["title": "Parking \u{201C}fine\u{201D}\n", "contactEmail": "anna@example.org"],
            clocks: ["contactEmail": HLCTimestamp(millis: 1_772_442_000_001, counter: 3, node: "gpfkvv3o55aqqjc3")],
            createdAt: Timestamp(millisecondsSince1970: 1_772_442_000_000), updatedAt: Timestamp(millisecondsSince1970: 1_772_442_000_999))
        let events = [
            TimelineEvent(id: "e1", caseId: record.id, type: .created, at: record.createdAt, actorRole: .citizen),
            TimelineEvent(
                id: "e2", caseId: record.id, type: .postponed, at: record.updatedAt, actorRole: .officer, actorName: "Officer",
                status: .received, note: "more time", weeks: 6, consent: true, effectiveDate: CalendarDate("2026-03-02")),
        ]
        let encoder = WireCoding.encoder()
        #expect(try CaseRecord(json: encoder.encode(record)) == record)
        for event in events { #expect(try TimelineEvent(json: encoder.encode(event)) == event) }
        // What a later version adds is skipped; what the record needs must be there.
        #expect(try CaseRecord(json: Data(#"{"later":{"x":[1]},"#.utf8) + encoder.encode(record).dropFirst()) == record)
        #expect(throws: JSONReadError.self) { try CaseRecord(json: Data(#"{"id":"a","kind":"objection"}"#.utf8)) }
        // A type of a later version is read as a name this build does not know; a malformed one is refused.
        let later = try TimelineEvent(json: Data(#"{"id":"a","caseId":"b","type":"lunch","at":"2026-03-02T09:30:00.000Z","actorRole":"citizen"}"#.utf8))
        #expect(later.type.rawValue == "lunch" && !later.type.isKnown)
        #expect(throws: JSONReadError.self) { try TimelineEvent(json: Data(#"{"id":"a","caseId":"b","type":"Lunch break","at":"2026-03-02T09:30:00.000Z","actorRole":"citizen"}"#.utf8)) }
    }

    @Test func openNamesAcceptTheWireFormAndKnowTheirOwn() throws {
        #expect(RecordType(rawValue: "attachment_v2")?.isKnown == false)
        #expect(RecordType(rawValue: "case") == .case && RecordType.case.isKnown)
        for bad in ["", "Case", "case type", "c\u{e9}", String(repeating: "a", count: 65)] { #expect(RecordType(rawValue: bad) == nil) }
        #expect(try WireCoding.decode(CaseKind.self, from: Data(#""appeal""#.utf8)) == CaseKind(rawValue: "appeal"))
        #expect(throws: (any Error).self) { try WireCoding.decode(CaseKind.self, from: Data(#""APPEAL""#.utf8)) }
        // A device files only kinds it knows.
        let push = #"{"clientId":"gpfkvv3o55aqqjc3","mutations":[{"mutationId":1,"caseId":"5f0c1e2a-0000-4000-8000-00000000c001","hlc":"1772443800000-0000-gpfkvv3o55aqqjc3","op":"create","case":{"kind":"appeal","authorityId":"gm0344","fields":{}}}]}"#
        #expect(throws: JSONReadError.self) { try PushRequest(json: Data(push.utf8)) }
    }

    @Test(arguments: ["2026-02-29", "2026-13-01", "2026-1-01", "yesterday", "2026-03-02T10:00:00Z"])
    func invalidDatesAreRefused(text: String) {
        #expect(CalendarDate(text) == nil)
    }

    @Test func weekdays() throws {
        #expect(try #require(CalendarDate("2026-03-02")).isoWeekday == 1) // Monday
        #expect(try #require(CalendarDate("2026-04-26")).isoWeekday == 7) // Sunday
    }

    @Test func checksumIsOrderIndependentAndRemovable() {
        var forward = ChecksumAccumulator()
        var backward = ChecksumAccumulator()
        let records = (0..<50).map { (RecordType.known[$0 % RecordType.known.count], "id-\($0)", Int64($0 % 3 + 1)) }
        for record in records { forward.add(type: record.0, id: record.1, version: record.2) }
        for record in records.reversed() { backward.add(type: record.0, id: record.1, version: record.2) }
        #expect(forward.checksum == backward.checksum)
        forward.add(type: .case, id: "extra", version: 1)
        #expect(forward.checksum != backward.checksum)
        forward.remove(type: .case, id: "extra", version: 1)
        #expect(forward.checksum == backward.checksum)
        #expect(forward.checksum.digest.count == 16)
    }

    static let operations: [MutationOperation] = [
        .create(NewCase(kind: .objection, authorityId: "a", fields: ["title": "T"])),
        .edit([FieldChange(field: "grounds", from: nil, to: "x")]),
        .transition(StatusTransition(to: .decided, note: "n", fields: ["decisionOutcome": "upheld"])),
        .addMessage(id: "5f0c1e2a-0000-4000-8000-00000000a001", body: "hello"),
        .resolveConflict(conflictId: "5f0c1e2a-0000-4000-8000-00000000b001", keep: .theirs),
        .delete,
        .deadline(DeadlineChange(action: .postpone, weeks: 6, consent: true, note: "Hearing needs a second session")),
        .deadline(DeadlineChange(action: .pause, effectiveDate: CalendarDate("2026-04-20"))),
        .deadline(DeadlineChange(action: .resume)),
    ]

    @Test(arguments: operations)
    func mutationsRoundTrip(operation: MutationOperation) throws {
        let mutation = Mutation(
            mutationId: 7, caseId: "c", baseVersion: 2, hlc: HLCTimestamp(millis: 5, counter: 1, node: "n"), operation: operation)
        let data = try WireCoding.encoder().encode(mutation)
        #expect(try WireCoding.decoder().decode(Mutation.self, from: data) == mutation)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["op"] as? String == operation.name)
    }

    @Test func anUnknownOperationIsNamedInTheError() {
        let body = Data(#"{"mutationId":1,"caseId":"c","hlc":"0000000000005-0001-n","op":"teleport"}"#.utf8)
        #expect {
            try WireCoding.decoder().decode(Mutation.self, from: body)
        } throws: { error in
            WireCoding.describe(error).contains("unknown op \"teleport\"")
        }
    }
}
