import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import Testing

@Suite("Notice of default")
struct NoticeOfDefaultTests {
    static let record = CaseRecord(
        id: "c1", kind: .objection, authorityId: "gm0344", citizenId: "anna", status: .inReview,
        fields: ["title": "Parking fine", "grounds": "Valid permit", "decisionReference": "PT-2026-0042", "decisionDate": "2026-03-02"],
        clocks: [:], createdAt: Timestamp(iso8601: "2026-03-10T09:00:00Z")!, updatedAt: Timestamp(iso8601: "2026-03-10T09:00:00Z")!)
    static let submitted = TimelineEvent(
        id: "e1", caseId: "c1", type: .statusChanged, at: Timestamp(iso8601: "2026-03-20T10:00:00Z")!, actorRole: .citizen,
        status: .submitted)

    func notice(
        on today: String, received: String? = nil, asOf: String? = nil, events: [TimelineEvent] = [submitted]
    ) throws -> NoticeOfDefault {
        let day = CalendarDate(today)!
        return try NoticeOfDefault(
            record: Self.record, deadlines: CaseDeadlines(record: Self.record, events: events, today: day),
            citizenName: "Anna de Vries", today: day, noticeReceived: received.flatMap(CalendarDate.init),
            asOf: asOf.flatMap(CalendarDate.init))
    }

    @Test func theLetterNamesTheArticlesTheDatesAndThePenalty() throws {
        let letter = try notice(on: "2026-05-28", received: "2026-06-01", asOf: "2026-07-01")
        let dutch = letter.text([.dutch])
        #expect(dutch.hasPrefix("Ingebrekestelling wegens niet tijdig beslissen op bezwaar"))
        #expect(dutch.contains("uiterlijk op 26 mei 2026"))
        #expect(dutch.contains("besluit met kenmerk PT-2026-0042 van 2 maart 2026"))
        #expect(dutch.contains("artikel 7:10, eerste lid, Awb"), "the legal basis in Dutch")
        #expect(!dutch.contains("Awb 7:10 lid 1") && !dutch.contains("six weeks"))
        #expect(dutch.contains("artikel 4:17, derde lid"))
        #expect(dutch.contains("€ 1.442"))
        // Received 1 June: the penalty runs from 15 June; up to 1 July that is 14 × 23 + 3 × 35.
        #expect(dutch.contains("De dwangsom loopt vanaf 15 juni 2026; tot en met 1 juli 2026 bedraagt zij € 427 (17 dagen)"))
        let english = letter.text([.english])
        #expect(english.contains("Article 4:17(3)"))
        #expect(english.contains("€ 427 (17 days)"))
        #expect(english.contains("by 26 May 2026 at the latest"))
        #expect(letter.text([.dutch, .english]).contains("Dear Sir or Madam"))
        let html = letter.html([.dutch, .english])
        #expect(html.contains("<section lang=\"nl\">"))
        #expect(html.contains("<section lang=\"en\">"))
    }

    @Test func theLetterIsAddressedToTheAuthorityOfTheRegister() throws {
        let utrecht = Authority(
            id: "gm0344", name: "Gemeente Utrecht", postalAddress: ["Postbus 16200", "3500 CE Utrecht"],
            taxOfficial: "De heffingsambtenaar van de gemeente Utrecht")
        let day = CalendarDate("2026-07-01")!
        let letter = try NoticeOfDefault(
            record: Self.record, deadlines: CaseDeadlines(record: Self.record, events: [Self.submitted], today: day),
            citizenName: "Anna de Vries", today: day, noticeReceived: nil, authority: utrecht)
        #expect(letter.text([.dutch]).contains("Aan: Gemeente Utrecht\nPostbus 16200\n3500 CE Utrecht\n\nDatum: 1 juli 2026"))
        var tax = Self.record
        tax.fields["decisionType"] = "municipal_tax"
        let taxLetter = try NoticeOfDefault(
            record: tax, deadlines: CaseDeadlines(record: tax, events: [Self.submitted], today: CalendarDate("2027-01-10")!),
            citizenName: "Anna de Vries", today: CalendarDate("2027-01-10")!, noticeReceived: nil, authority: utrecht)
        #expect(taxLetter.addressee.first == "De heffingsambtenaar van de gemeente Utrecht")
        #expect(taxLetter.text([.dutch]).contains("artikel 236, tweede lid, Gemeentewet"))
    }

    @Test func datesThatCannotAllBeTrueAreRefused() throws {
        // Received before the letter was written.
        #expect(throws: ClientError.self) { try notice(on: "2026-06-10", received: "2026-06-01") }
        // The penalty counted to a day before the receipt.
        #expect(throws: ClientError.self) { try notice(on: "2026-05-28", received: "2026-06-01", asOf: "2026-05-30") }
        // Received the day it was written, counted from then on: fine.
        #expect(try notice(on: "2026-05-28", received: "2026-05-28").asOf == CalendarDate("2026-05-28")!)
    }

    @Test func withoutTheReceiptThePenaltyIsNotYetCounted() throws {
        let letter = try notice(on: "2026-05-27")
        #expect(letter.penaltySoFar == nil)
        #expect(!letter.text([.english]).contains("The penalty runs from"))
    }

    @Test func noNoticeBeforeTheDeadlineHasPassedOrAfterADecision() {
        #expect(throws: ClientError.self) { try notice(on: "2026-05-26") }
        #expect(throws: ClientError.self) { try notice(on: "2026-05-27", events: []) }
        let decided = TimelineEvent(id: "e2", caseId: "c1", type: .decided, at: Timestamp(iso8601: "2026-05-30T10:00:00Z")!, actorRole: .officer)
        #expect(throws: ClientError.self) { try notice(on: "2026-06-10", events: [Self.submitted, decided]) }
        #expect(throws: ClientError.self) { try notice(on: "2026-06-10", received: "2026-05-20") }
    }

    @Test func htmlEscapesWhatTheCaseSays() throws {
        var record = Self.record
        record.fields["decisionReference"] = "<script>alert(1)</script>"
        let day = CalendarDate("2026-07-01")!
        let letter = try NoticeOfDefault(
            record: record, deadlines: CaseDeadlines(record: record, events: [Self.submitted], today: day),
            citizenName: "A & B", today: day, noticeReceived: nil)
        let html = letter.html([.english])
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;"))
        #expect(html.contains("A &amp; B"))
    }
}
