import ArgumentParser
import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import Foundation

struct Deadlines: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every case's statutory deadline, most urgent first, with the rule it comes from. Works offline.")
    @OptionGroup var home: HomeOptions
    @OptionGroup var filter: CaseFilterOptions
    @Option(help: "Measure against this day (YYYY-MM-DD) instead of today.") var on: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let on, CalendarDate(on) == nil { throw ValidationError("--on must be a date like 2026-05-26") }
    }

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let query = filter.query(json: json, order: .mostUrgent)
            let overview = try client.deadlineOverview(query, today: on.flatMap(CalendarDate.init))
            if json { return try printJSON(overview.map { DeadlineSummary(case: $0.case, deadlines: $0.deadlines) }) }
            if overview.isEmpty { return print(filter.nothingFound) }
            print(table(
                ["CASE", "STATUS", "DEADLINE", "STANDING", "TITLE"],
                overview.map { item in
                    let deadlines = item.deadlines
                    let day = deadlines.decisionPeriod?.end ?? (item.case.record.status == .draft ? deadlines.objectionPeriod?.end : nil)
                    return [short(item.case.id), item.case.record.status.rawValue, day.map(String.init(describing:)) ?? "—",
                            describeStanding(deadlines), String((item.case.field(.title) ?? "").prefix(40))]
                }))
            if overview.count == query.limit {
                var counting = query
                counting.limit = 0
                if let footer = filter.footer(shown: overview.count, total: try client.cases(counting).total, noun: "cases") {
                    print(footer)
                }
            }
        }
    }
}

/// A case's deadlines as JSON (ZGW names where ZGW has them).
struct DeadlineSummary: Encodable {
    var caseId: String
    var status: String
    var objectionPeriodEnd: String?
    var registratiedatum: String?
    var uiterlijkeEinddatumAfdoening: String?
    var einddatum: String?
    var basis: [String]
    var standing: String
    var nextStep: String
    var holidayData: String

    init(case local: LocalCase, deadlines: CaseDeadlines) {
        caseId = local.id
        status = local.record.status.rawValue
        objectionPeriodEnd = deadlines.objectionPeriod?.end.description
        registratiedatum = deadlines.received?.description
        uiterlijkeEinddatumAfdoening = deadlines.decisionPeriod?.end.description
        einddatum = deadlines.decided?.description
        basis = deadlines.decisionPeriod?.basis ?? deadlines.objectionPeriod?.basis ?? []
        standing = describeStanding(deadlines)
        nextStep = deadlines.nextStep
        holidayData = deadlines.holidayData
    }
}

/// Where a case's deadline stands, in a few words.
func describeStanding(_ deadlines: CaseDeadlines) -> String {
    switch deadlines.standing {
    case .running(let days)?: days == 1 ? "last day today" : "\(days) days left"
    case .overdue(let days)?: "OVERDUE by \(days) day\(days == 1 ? "" : "s")"
    case .paused(let since)?: "paused since \(since)"
    case .decided(let on, let late)?: late > 0 ? "decided \(on), \(late) days late" : "decided \(on), in time"
    case nil: deadlines.objectionPeriod.map { "file by \($0.end)" } ?? "—"
    }
}

/// The deadline part of `casesync show`.
func render(_ deadlines: CaseDeadlines) -> [String] {
    var lines = ["Deadlines:"]
    if let period = deadlines.objectionPeriod {
        lines.append("  Objection period ends:  \(period.end)" + (deadlines.filedInTime == false ? "  (the objection arrived after it)" : ""))
        lines += period.basis.map { "      \($0)" }
    }
    if let received = deadlines.received { lines.append("  Received (registratiedatum): \(received)") }
    if let period = deadlines.decisionPeriod {
        lines.append("  Decision due by (uiterlijkeEinddatumAfdoening): \(period.end) — \(describeStanding(deadlines))")
        lines += period.basis.map { "      \($0)" }
    }
    lines.append("  Next: \(deadlines.nextStep)")
    lines.append("  Holidays: \(deadlines.holidayData)")
    return lines
}

struct Postpone: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Officers: postpone the decision on an objection (Awb 7:10 lid 3: at most 6 weeks; more with consent, lid 4).")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Option(help: "By how many weeks.") var weeks: Int
    @Flag(help: "The objector consented (Awb 7:10 lid 4).") var consent = false
    @Option(help: "Why (shown in the timeline; the citizen sees it).") var note: String?

    func run() async throws {
        try await changeDeadline(home: home, caseId: caseId, DeadlineChange(action: .postpone, weeks: weeks, consent: consent, note: note))
    }
}

struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Officers: the objector was asked to repair a defect (Awb 6:6); the decision period stands still (7:10 lid 2).")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Option(help: "The day the request was sent, YYYY-MM-DD (default today).") var on: String?
    @Option(help: "What must be repaired (shown in the timeline).") var note: String?

    func validate() throws {
        if let on, CalendarDate(on) == nil { throw ValidationError("--on must be a date like 2026-04-20") }
    }

    func run() async throws {
        try await changeDeadline(
            home: home, caseId: caseId, DeadlineChange(action: .pause, effectiveDate: on.flatMap(CalendarDate.init), note: note))
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Officers: the defect was repaired (or its period lapsed); the decision period runs again.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Option(help: "The day it was repaired, YYYY-MM-DD (default today).") var on: String?
    @Option(help: "A note for the timeline.") var note: String?

    func validate() throws {
        if let on, CalendarDate(on) == nil { throw ValidationError("--on must be a date like 2026-04-30") }
    }

    func run() async throws {
        try await changeDeadline(
            home: home, caseId: caseId, DeadlineChange(action: .resume, effectiveDate: on.flatMap(CalendarDate.init), note: note))
    }
}

func changeDeadline(home: HomeOptions, caseId: String, _ change: DeadlineChange) async throws {
    try await reporting {
        let client = try home.client()
        let id = try client.caseId(matching: caseId)
        try client.changeDeadline(caseId: id, change)
        let deadlines = try client.deadlines(caseId: id)
        print("Case \(short(id)): decision now due by \(deadlines.decisionPeriod.map { String(describing: $0.end) } ?? "—"); it is sent on your next: casesync sync")
    }
}

struct Notice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draft a notice of default (ingebrekestelling, Awb 4:17) for an objection the authority has not decided in time.",
        discussion: "Prints the letter in Dutch and English, or writes it to a file. Works offline.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Option(help: "The day the authority received your notice, YYYY-MM-DD, once you know it: adds the penalty so far.")
    var received: String?
    @Option(help: "nl, en or both.") var language = "both"
    @Option(help: "text or html.") var format = "text"
    @Option(help: "Write the letter to this file instead of printing it.") var output: String?
    @Option(help: "Date the letter on this day instead of today (YYYY-MM-DD).") var on: String?
    @Option(help: "Count the penalty so far up to this day (YYYY-MM-DD; default the later of today and --received).")
    var asOf: String?

    func validate() throws {
        if let received, CalendarDate(received) == nil { throw ValidationError("--received must be a date like 2026-06-01") }
        if let on, CalendarDate(on) == nil { throw ValidationError("--on must be a date like 2026-06-01") }
        if let asOf, CalendarDate(asOf) == nil { throw ValidationError("--as-of must be a date like 2026-06-01") }
        guard ["nl", "en", "both"].contains(language) else { throw ValidationError("--language must be nl, en or both") }
        guard ["text", "html"].contains(format) else { throw ValidationError("--format must be text or html") }
    }

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let id = try client.caseId(matching: caseId)
            guard let account = try client.account() else {
                throw ClientError.notLoggedIn
            }
            guard account.account.role == .citizen else { throw CLIError("a notice of default is the citizen's letter") }
            let today = on.flatMap(CalendarDate.init) ?? client.today
            let received = received.flatMap(CalendarDate.init)
            let asOf = asOf.flatMap(CalendarDate.init) ?? max(client.today, received ?? today, today)
            let detail = try client.detail(caseId: id)
            let notice = try NoticeOfDefault(
                record: detail.local.record, deadlines: try client.deadlines(caseId: id, today: today),
                sender: try client.senderProfile(), today: today, noticeReceived: received, asOf: asOf,
                authority: detail.authority)
            let languages: [NoticeOfDefault.Language] = language == "both" ? [.dutch, .english] : [NoticeOfDefault.Language(rawValue: language)!]
            let letter = format == "html" ? notice.html(languages) : notice.text(languages)
            guard let output else { return print(letter, terminator: "") }
            guard FileManager.default.createFile(atPath: output, contents: Data(letter.utf8)) else {
                throw CLIError("cannot write \(output): check the path and permissions")
            }
            print("Wrote the notice of default to \(output). Send it to \(notice.addressee.joined(separator: ", ")) and keep proof of the day it arrives.")
        }
    }
}
