import CaseSyncDomain
import CaseSyncProtocol
import Foundation

/// The letter a citizen sends when the authority has not decided on the objection in time: a notice of
/// default (ingebrekestelling, Awb 4:17 lid 3), in Dutch and English, with the articles, the dates and
/// the penalty, as plain text or HTML. Built from the case alone, offline.
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
    public let citizenName: String
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
        record: CaseRecord, deadlines: CaseDeadlines, citizenName: String, today: CalendarDate, noticeReceived: CalendarDate?,
        asOf: CalendarDate? = nil, authority: Authority? = nil
    ) throws {
        guard let received = deadlines.received, let period = deadlines.decisionPeriod else {
            throw ClientError(.invalidInput, "this objection has not reached the authority yet; sync first (casesync sync)")
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
        // Dates that cannot all be true are refused: the letter is written after the deadline (above),
        // received on or after the day it is dated, and the penalty counted to a day after its receipt.
        if let noticeReceived, noticeReceived < today {
            throw ClientError(
                .invalidInput, "the letter is dated \(today), so the authority cannot have received it on \(noticeReceived); check --received and --on")
        }
        let asOf = asOf ?? max(today, noticeReceived ?? today)
        if let noticeReceived, asOf < noticeReceived {
            throw ClientError(
                .invalidInput, "the penalty is counted from the notice's receipt (\(noticeReceived)); --as-of must be that day or later")
        }
        caseId = record.id
        authorityId = record.authorityId
        self.authority = authority
        municipalTax = record.fields[CaseField.decisionType.rawValue] == "municipal_tax"
        self.citizenName = citizenName
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

    /// The letter as paragraphs (the first is the title).
    public func paragraphs(_ language: Language) -> [String] {
        let first = noticeReceived.map { LateDecisionPenalty.firstDay(noticeReceived: $0) }
        let contested = CalendarDate(decisionDate)
        switch language {
        case .dutch:
            let date = { (day: CalendarDate) in day.dutchLetterForm }
            let basis = deadline.basisInDutch.joined(separator: "; ")
            let decisionDate = contested.map(date) ?? self.decisionDate
            let (received, today) = (date(self.received), date(self.today))
            var text = [
                "Ingebrekestelling wegens niet tijdig beslissen op bezwaar",
                "Aan: \(addressee.joined(separator: "\n"))\n\nDatum: \(today)\nBetreft: bezwaar tegen het besluit met kenmerk \(decisionReference) van \(decisionDate) (zaak \(caseId))",
                "Geachte heer, mevrouw,",
                "Op \(received) heb ik bezwaar gemaakt tegen het besluit met kenmerk \(decisionReference) van \(decisionDate). U had uiterlijk op \(date(deadline.end)) op mijn bezwaar moeten beslissen (\(basis)). Die termijn is verstreken en u heeft nog niet beslist.",
                "Hierbij stel ik u in gebreke (artikel 4:17, derde lid, van de Algemene wet bestuursrecht). Ik verzoek u alsnog op mijn bezwaar te beslissen. Heeft u twee weken na ontvangst van deze brief niet beslist, dan bent u mij van rechtswege een dwangsom verschuldigd van € 23 per dag voor de eerste veertien dagen, € 35 per dag voor de volgende veertien dagen en € 45 per dag voor de overige dagen, tot ten hoogste € 1.442 (artikel 4:17, tweede lid, Awb).",
            ]
            if let noticeReceived, let first, let owed = penaltySoFar {
                text.append(
                    "U heeft deze ingebrekestelling op \(date(noticeReceived)) ontvangen. De dwangsom loopt vanaf \(date(first)); tot en met \(date(asOf)) bedraagt zij € \(owed.euro) (\(owed.days) dagen).")
            }
            text.append("Blijft een beslissing uit, dan kan ik beroep instellen bij de rechtbank (artikel 6:12 Awb).")
            text.append("Met vriendelijke groet,\n\n\(citizenName)")
            return text
        case .english:
            let date = { (day: CalendarDate) in day.englishLetterForm }
            let basis = deadline.basis.joined(separator: "; ")
            let decisionDate = contested.map(date) ?? self.decisionDate
            let (received, today) = (date(self.received), date(self.today))
            var text = [
                "Notice of default for failure to decide on an objection in time",
                "To: \(addressee.joined(separator: "\n"))\n\nDate: \(today)\nRe: objection to the decision with reference \(decisionReference) of \(decisionDate) (case \(caseId))",
                "Dear Sir or Madam,",
                "On \(received) I objected to the decision with reference \(decisionReference) of \(decisionDate). You had to decide on my objection by \(date(deadline.end)) at the latest (\(basis)). That period has passed and you have not decided.",
                "I hereby give you notice of default (Article 4:17(3) of the General Administrative Law Act, Awb). I ask you to decide on my objection. If you have not decided two weeks after receiving this letter, you owe me by law a penalty of € 23 a day for the first fourteen days, € 35 a day for the next fourteen days and € 45 a day for the days after that, up to € 1,442 (Article 4:17(2) Awb).",
            ]
            if let noticeReceived, let first, let owed = penaltySoFar {
                text.append(
                    "You received this notice on \(date(noticeReceived)). The penalty runs from \(date(first)); up to and including \(date(asOf)) it amounts to € \(owed.euro) (\(owed.days) days).")
            }
            text.append("If no decision follows, I can appeal to the administrative court (Article 6:12 Awb).")
            text.append("Yours faithfully,\n\n\(citizenName)")
            return text
        }
    }

    /// Plain text, languages one after the other.
    public func text(_ languages: [Language]) -> String {
        languages.map { paragraphs($0).joined(separator: "\n\n") }.joined(separator: "\n\n" + String(repeating: "-", count: 72) + "\n\n") + "\n"
    }

    /// A self-contained HTML page to print or send, languages one after the other.
    public func html(_ languages: [Language]) -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
                .replacingOccurrences(of: "\n", with: "<br>")
        }
        let sections = languages.map { language -> String in
            let parts = paragraphs(language)
            return "<section lang=\"\(language.rawValue)\">\n<h1>\(escape(parts[0]))</h1>\n"
                + parts.dropFirst().map { "<p>\(escape($0))</p>" }.joined(separator: "\n") + "\n</section>"
        }
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(escape(paragraphs(languages.first ?? .dutch)[0]))</title>
            <style>body{font-family:serif;max-width:40em;margin:2em auto;line-height:1.45}section+section{page-break-before:always;margin-top:3em}</style>
            </head><body>
            \(sections.joined(separator: "\n"))
            </body></html>

            """
    }
}
