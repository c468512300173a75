import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import Foundation
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
    static let anna = SenderProfile(
        name: "Anna de Vries", postalAddress: ["Oudegracht 12", "3511 AR Utrecht"], email: "anna@example.nl", phone: "06 12345678")

    func notice(
        on today: String, received: String? = nil, asOf: String? = nil, events: [TimelineEvent] = [submitted]
    ) throws -> NoticeOfDefault {
        let day = CalendarDate(today)!
        return try NoticeOfDefault(
            record: Self.record, deadlines: CaseDeadlines(record: Self.record, events: events, today: day),
            sender: Self.anna, today: day, noticeReceived: received.flatMap(CalendarDate.init),
            asOf: asOf.flatMap(CalendarDate.init))
    }

    @Test func theLetterNamesTheArticlesTheDatesAndThePenalty() throws {
        let letter = try notice(on: "2026-05-28", received: "2026-06-01", asOf: "2026-07-01")
        let dutch = letter.text([.dutch])
        #expect(dutch.hasPrefix("gm0344\n\nDatum: 28 mei 2026\nUw kenmerk: PT-2026-0042\nMijn kenmerk: zaak c1\n\nBetreft: ingebrekestelling"))
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
        #expect(html.contains("<section class=\"letter\" lang=\"nl\">"))
        #expect(html.contains("<section class=\"letter\" lang=\"en\">"))
    }

    @Test func theLetterIsAddressedToTheAuthorityOfTheRegister() throws {
        let utrecht = Authority(
            id: "gm0344", name: "Gemeente Utrecht", postalAddress: ["Postbus 16200", "3500 CE Utrecht"],
            taxOfficial: "De heffingsambtenaar van de gemeente Utrecht")
        let day = CalendarDate("2026-07-01")!
        let letter = try NoticeOfDefault(
            record: Self.record, deadlines: CaseDeadlines(record: Self.record, events: [Self.submitted], today: day),
            sender: Self.anna, today: day, noticeReceived: nil, authority: utrecht)
        #expect(letter.text([.dutch]).contains(
            "Gemeente Utrecht\nPostbus 16200\n3500 CE Utrecht\n\nDatum: 1 juli 2026\nUw kenmerk: PT-2026-0042\n"))
        #expect(letter.text([.dutch]).contains("Betreft: ingebrekestelling, bezwaar tegen uw besluit met kenmerk PT-2026-0042\n\nGeachte heer, mevrouw,"))
        #expect(letter.text([.english]).contains("Your reference: PT-2026-0042\n"))
        var tax = Self.record
        tax.fields["decisionType"] = "municipal_tax"
        let taxLetter = try NoticeOfDefault(
            record: tax, deadlines: CaseDeadlines(record: tax, events: [Self.submitted], today: CalendarDate("2027-01-10")!),
            sender: Self.anna, today: CalendarDate("2027-01-10")!, noticeReceived: nil, authority: utrecht)
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
            sender: SenderProfile(name: "A & B", postalAddress: ["<b>1", "2"]), today: day, noticeReceived: nil)
        let html = letter.html([.english])
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;"))
        #expect(html.contains("A &amp; B<br>\n&lt;b&gt;1<br>\n2</p>"))
    }

    @Test func theSenderBlockStandsUnderTheSignature() throws {
        let letter = try notice(on: "2026-07-01")
        #expect(letter.text([.dutch]).hasSuffix(
            "Met vriendelijke groet,\n\nAnna de Vries\nOudegracht 12\n3511 AR Utrecht\nE-mail: anna@example.nl\nTelefoon: 06 12345678\n"))
        #expect(letter.text([.english]).hasSuffix("Yours faithfully,\n\nAnna de Vries\nOudegracht 12\n3511 AR Utrecht\nE-mail: anna@example.nl\nPhone: 06 12345678\n"))
        let noContact = SenderProfile(name: "Anna de Vries", postalAddress: ["Oudegracht 12", "3511 AR Utrecht"])
        let day = CalendarDate("2026-07-01")!
        let plain = try NoticeOfDefault(
            record: Self.record, deadlines: CaseDeadlines(record: Self.record, events: [Self.submitted], today: day),
            sender: noContact, today: day, noticeReceived: nil)
        #expect(plain.text([.dutch]).hasSuffix("Anna de Vries\nOudegracht 12\n3511 AR Utrecht\n"))
        // Without a postal address there is no letter to send, and the error says how to give one.
        let error = #expect(throws: ClientError.self) {
            try NoticeOfDefault(
                record: Self.record, deadlines: CaseDeadlines(record: Self.record, events: [Self.submitted], today: day),
                sender: SenderProfile(name: "Anna de Vries"), today: day, noticeReceived: nil)
        }
        #expect(error?.subject == .senderAddress)
        #expect(error?.message.contains("casesync") == false, "the library names no front's commands")
    }

    @Test func theEnglishTranslationIsOnAPageOfItsOwn() throws {
        let letter = try notice(on: "2026-07-01")
        let pages = letter.text([.dutch, .english]).split(separator: "\u{0C}", omittingEmptySubsequences: false)
        #expect(pages.count == 2, "a form feed between the languages, nowhere else")
        #expect(pages[0].contains("Geachte heer, mevrouw,") && !pages[0].contains("Dear Sir or Madam"))
        #expect(pages[1].hasPrefix("\nEnglish translation, for your information. The letter to send is the Dutch one"))
        #expect(letter.text([.dutch]).contains("\u{0C}") == false)
        let html = letter.html([.dutch, .english])
        #expect(html.contains(".letter + .letter { break-before: page; page-break-before: always; }"))
        #expect(html.components(separatedBy: "<section class=\"letter\"").count == 3)
    }

    @Test func aProfileIsCheckedPartByPart() throws {
        let good = try SenderProfile(
            name: "  Anna de Vries ", postalAddress: ["Oudegracht 12", " 3511 AR Utrecht"], email: "anna@example.nl", phone: "+31 6 1234 5678"
        ).validated()
        #expect(good.name == "Anna de Vries" && good.postalAddress == ["Oudegracht 12", "3511 AR Utrecht"])
        #expect(try SenderProfile(name: "A", email: "", phone: "").validated() == SenderProfile(name: "A"), "empty leaves them out")
        let bad: [SenderProfile] = [
            SenderProfile(name: " "),
            SenderProfile(name: "A", postalAddress: ["Oudegracht 12"]),
            SenderProfile(name: "A", postalAddress: ["Oudegracht 12", ""]),
            SenderProfile(name: "A", postalAddress: ["Oudegracht 12\nUtrecht", "x"]),
            SenderProfile(name: "A", postalAddress: Array(repeating: "line", count: 6)),
            SenderProfile(name: String(repeating: "a", count: 101)),
            SenderProfile(name: "A", email: "anna"),
            SenderProfile(name: "A", email: "anna@localhost"),
            SenderProfile(name: "A", email: "an na@example.nl"),
            SenderProfile(name: "A", phone: "call me"),
            SenderProfile(name: "A", phone: "12345"),
        ]
        for profile in bad {
            #expect(throws: ClientError.self, "\(profile)") { try profile.validated() }
        }
    }
}

/// The library's messages are for every front: none of them names a command-line command or flag (the
/// command line adds its own hints by the error's code and subject).
@Suite("Library messages")
struct LibraryMessageTests {
    @Test func noMessageOfTheLibraryNamesACommandOrAFlag() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/CaseSyncCore")
        var checked = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: sources.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("ClientError(") || line.hasPrefix("                \"") {
                checked += 1
                #expect(!line.contains("casesync ") && !line.contains(" --"), "\(file): \(line)")
            }
        }
        #expect(checked > 20)
    }
}
