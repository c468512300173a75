import CaseSyncDomain
import CaseSyncProtocol
import Foundation

/// The letter a citizen sends when the authority has not decided on the objection in time: a notice of
/// default (ingebrekestelling, Awb 4:17 lid 3), in Dutch and English, with the articles, the dates and
/// the penalty, as plain text or HTML. Built offline from the case, the register's entry for its
/// authority and the citizen's sender block (`SenderProfile`).
public struct NoticeOfDefault: Sendable {
    public enum Language: String, Sendable, CaseIterable {
        case dutch = "nl"
        case english = "en"
    }

    public let caseId: String
    public let authorityId: String
    /// The authority as the register has it (its name and postal address head the letter).
    public let authority: Authority?
    /// A municipal tax assessment: the letter goes to the official who decides (the heffingsambtenaar).
    public let municipalTax: Bool
    /// The citizen as the sender block shows them.
    public let sender: SenderProfile
    public let decisionReference: String
    public let decisionDate: String
    public let received: CalendarDate
    public let deadline: StatutoryPeriod
    public let today: CalendarDate
    /// The day the authority received the notice, once known; the penalty runs two weeks later.
    public let noticeReceived: CalendarDate?
    /// The day the penalty so far is counted to (at least the day of receipt).
    public let asOf: CalendarDate

    /// The notice for a case whose decision period has passed; throws with what to do otherwise.
    public init(
        record: CaseRecord, deadlines: CaseDeadlines, sender: SenderProfile, today: CalendarDate, noticeReceived: CalendarDate?,
        asOf: CalendarDate? = nil, authority: Authority? = nil
    ) throws {
        guard let received = deadlines.received, let period = deadlines.decisionPeriod else {
            throw ClientError(.invalidInput, "this objection has not reached the authority yet", subject: .notYetReceived)
        }
        if case .decided(let on, _)? = deadlines.standing {
            throw ClientError(.invalidInput, "the authority decided on \(on); a notice of default is no longer possible")
        }
        if case .paused(let since)? = deadlines.standing {
            throw ClientError(
                .invalidInput, "the decision period stands still since \(since) until you repair what was asked (Awb 7:10 lid 2)")
        }
        guard today > period.end else {
            throw ClientError(
                .invalidInput,
                "the authority has until \(period.end) to decide; a notice of default can be sent from \(period.end.adding(days: 1)) on (Awb 4:17 lid 3)")
        }
        guard !sender.postalAddress.isEmpty else {
            throw ClientError(
                .invalidInput,
                "the letter needs your postal address under your name, so the authority can answer it", subject: .senderAddress)
        }
        // Dates that cannot all be true are refused: the letter is written after the deadline (above),
        // received on or after the day it is dated, and the penalty counted to a day after its receipt.
        if let noticeReceived, noticeReceived < today {
            throw ClientError(
                .invalidInput, "the letter is dated \(today), so the authority cannot have received it on \(noticeReceived)",
                subject: .receiptDate)
        }
        let asOf = asOf ?? max(today, noticeReceived ?? today)
        if let noticeReceived, asOf < noticeReceived {
            throw ClientError(
                .invalidInput, "the penalty is counted from the notice's receipt (\(noticeReceived)), so only to that day or later",
                subject: .penaltyDate)
        }
        caseId = record.id
        authorityId = record.authorityId
        self.authority = authority
        municipalTax = record.fields[CaseField.decisionType.rawValue] == "municipal_tax"
        self.sender = sender
        decisionReference = record.fields[CaseField.decisionReference.rawValue] ?? ""
        decisionDate = record.fields[CaseField.decisionDate.rawValue] ?? ""
        self.received = received
        deadline = period
        self.today = today
        self.noticeReceived = noticeReceived
        self.asOf = asOf
    }

    /// The penalty owed up to `asOf`, once the notice's receipt is known.
    public var penaltySoFar: (days: Int, euro: Int)? {
        noticeReceived.map { LateDecisionPenalty.owed(noticeReceived: $0, on: asOf) }
    }

    /// Who the letter is addressed to, with the postal address: the register's name (or, for a
    /// municipal tax, its official who decides objections), or the bare id when the register lacks it.
    public var addressee: [String] {
        guard let authority else { return [authorityId] }
        let name = municipalTax ? authority.taxOfficial ?? authority.name : authority.name
        return [name] + authority.postalAddress
    }

    /// One language's letter, in the order a letter has its parts.
    public struct Page: Sendable, Hashable {
        public var language: Language
        /// Above a translation: that the letter to send is the Dutch one.
        public var translationNote: String?
        public var addressee: [String]
        /// Date and references, one a line.
        public var heading: [String]
        /// The subject line, naming the authority's reference.
        public var subject: String
        /// The letter's name (the HTML page's title).
        public var title: String
        public var salutation: String
        public var body: [String]
        public var closing: String
        /// The sender block: name, address, e-mail, phone.
        public var sender: [String]
    }

    /// The letter in `language`: the Dutch one is the letter; the English one, its translation.
    public func page(_ language: Language) -> Page {
        let first = noticeReceived.map { LateDecisionPenalty.firstDay(noticeReceived: $0) }
        let contested = CalendarDate(decisionDate)
        switch language {
        case .dutch:
            let date = { (day: CalendarDate) in day.dutchLetterForm }
            let basis = deadline.basisInDutch.joined(separator: "; ")
            let decisionDate = contested.map(date) ?? self.decisionDate
            var body = [
                "Op \(date(received)) heb ik bezwaar gemaakt tegen uw besluit met kenmerk \(decisionReference) van \(decisionDate). U had uiterlijk op \(date(deadline.end)) op mijn bezwaar moeten beslissen (\(basis)). Die termijn is verstreken en u heeft nog niet beslist.",
                "Hierbij stel ik u in gebreke (artikel 4:17, derde lid, van de Algemene wet bestuursrecht). Ik verzoek u alsnog op mijn bezwaar te beslissen. Heeft u twee weken na ontvangst van deze brief niet beslist, dan bent u mij van rechtswege een dwangsom verschuldigd van € 23 per dag voor de eerste veertien dagen, € 35 per dag voor de volgende veertien dagen en € 45 per dag voor de overige dagen, tot ten hoogste € 1.442 (artikel 4:17, tweede lid, Awb).",
            ]
            if let noticeReceived, let first, let owed = penaltySoFar {
                body.append(
                    "U heeft deze ingebrekestelling op \(date(noticeReceived)) ontvangen. De dwangsom loopt vanaf \(date(first)); tot en met \(date(asOf)) bedraagt zij € \(owed.euro) (\(owed.days) dagen).")
            }
            body.append("Blijft een beslissing uit, dan kan ik beroep instellen bij de rechtbank (artikel 6:12 Awb).")
            return Page(
                language: .dutch, translationNote: nil, addressee: addressee,
                heading: [
                    "Datum: \(date(today))", "Uw kenmerk: \(decisionReference)", "Mijn kenmerk: zaak \(caseId)",
                ],
                subject: "Betreft: ingebrekestelling, bezwaar tegen uw besluit met kenmerk \(decisionReference)",
                title: "Ingebrekestelling wegens niet tijdig beslissen op bezwaar", salutation: "Geachte heer, mevrouw,", body: body,
                closing: "Met vriendelijke groet,", sender: sender.block(dutch: true))
        case .english:
            let date = { (day: CalendarDate) in day.englishLetterForm }
            let basis = deadline.basis.joined(separator: "; ")
            let decisionDate = contested.map(date) ?? self.decisionDate
            var body = [
                "On \(date(received)) I objected to your decision with reference \(decisionReference) of \(decisionDate). You had to decide on my objection by \(date(deadline.end)) at the latest (\(basis)). That period has passed and you have not decided.",
                "I hereby give you notice of default (Article 4:17(3) of the General Administrative Law Act, Awb). I ask you to decide on my objection. If you have not decided two weeks after receiving this letter, you owe me by law a penalty of € 23 a day for the first fourteen days, € 35 a day for the next fourteen days and € 45 a day for the days after that, up to € 1,442 (Article 4:17(2) Awb).",
            ]
            if let noticeReceived, let first, let owed = penaltySoFar {
                body.append(
                    "You received this notice on \(date(noticeReceived)). The penalty runs from \(date(first)); up to and including \(date(asOf)) it amounts to € \(owed.euro) (\(owed.days) days).")
            }
            body.append("If no decision follows, I can appeal to the administrative court (Article 6:12 Awb).")
            return Page(
                language: .english,
                translationNote: "English translation, for your information. The letter to send is the Dutch one; it alone has legal effect.",
                addressee: addressee,
                heading: [
                    "Date: \(date(today))", "Your reference: \(decisionReference)", "My reference: case \(caseId)",
                ],
                subject: "Re: notice of default, objection to your decision with reference \(decisionReference)",
                title: "Notice of default for failure to decide on an objection in time", salutation: "Dear Sir or Madam,", body: body,
                closing: "Yours faithfully,", sender: sender.block(dutch: false))
        }
    }

    /// Plain text, each language on a page of its own (a form feed between them, as printers take it).
    public func text(_ languages: [Language]) -> String {
        languages.map { language in
            let page = page(language)
            let parts = [page.translationNote, page.addressee.joined(separator: "\n"), page.heading.joined(separator: "\n"),
                         page.subject, page.salutation].compactMap { $0 } + page.body
                + [page.closing + "\n\n" + page.sender.joined(separator: "\n")]
            return parts.joined(separator: "\n\n") + "\n"
        }.joined(separator: "\u{0C}\n")
    }

    /// A self-contained HTML page to print (A4) or send, each language on a page of its own.
    public func html(_ languages: [Language]) -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        func lines(_ lines: [String]) -> String { lines.map(escape).joined(separator: "<br>\n") }
        let sections = languages.map { language -> String in
            let page = page(language)
            var html = ["<section class=\"letter\" lang=\"\(language.rawValue)\">"]
            if let note = page.translationNote { html.append("<p class=\"note\">\(escape(note))</p>") }
            html.append("<p class=\"addressee\">\(lines(page.addressee))</p>")
            html.append("<p class=\"heading\">\(lines(page.heading))</p>")
            html.append("<h1>\(escape(page.subject))</h1>")
            html.append("<p>\(escape(page.salutation))</p>")
            html += page.body.map { "<p>\(escape($0))</p>" }
            html.append("<p class=\"closing\">\(escape(page.closing))</p>")
            html.append("<p class=\"sender\">\(lines(page.sender))</p>")
            return (html + ["</section>"]).joined(separator: "\n")
        }
        return """
            <!DOCTYPE html>
            <html lang="\((languages.first ?? .dutch).rawValue)"><head><meta charset="utf-8">
            <title>\(escape(page(languages.first ?? .dutch).title))</title>
            <style>
            @page { size: A4; margin: 25mm 25mm 20mm 25mm; }
            body { font-family: "DejaVu Serif", serif; font-size: 11pt; line-height: 1.45; max-width: 40em; margin: 2em auto; }
            @media print { body { margin: 0; max-width: none; } }
            .letter + .letter { break-before: page; page-break-before: always; }
            .note { font-style: italic; border-bottom: 1px solid #999; padding-bottom: 0.5em; }
            .addressee { margin: 2em 0 2.5em; }
            h1 { font-size: 1em; margin: 1.5em 0 1.5em; }
            .closing { margin-top: 1.5em; margin-bottom: 3.5em; }
            p { margin: 0 0 0.9em; }
            </style>
            </head><body>
            \(sections.joined(separator: "\n"))
            </body></html>

            """
    }
}
