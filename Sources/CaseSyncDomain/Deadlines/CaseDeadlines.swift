import CaseSyncProtocol

/// Where a statutory period stands on a given day.
public enum DeadlineStanding: Sendable, Hashable {
    /// Days left, today included (1 = today is the last day).
    case running(daysLeft: Int)
    case overdue(days: Int)
    /// The period stands still while the objector repairs a defect (Awb 7:10 lid 2).
    case paused(since: CalendarDate)
    /// Decided within the period, or `daysLate` days after it.
    case decided(on: CalendarDate, daysLate: Int)
}

/// A case's statutory deadlines as every front shows them: computed from the case and its timeline
/// alone, offline, identically on every device. Field names follow the ZGW Zaken API where it has one
/// (see README, "Deadlines").
public struct CaseDeadlines: Sendable, Hashable {
    /// Bezwaartermijn: by when the objection must be filed.
    public var objectionPeriod: StatutoryPeriod?
    /// ZGW `registratiedatum`/`startdatum`: the day the objection reached the authority (its server).
    public var received: CalendarDate?
    /// Beslistermijn; `end` is ZGW's `uiterlijkeEinddatumAfdoening`.
    public var decisionPeriod: StatutoryPeriod?
    /// ZGW `einddatum`: the day the decision on the objection was taken.
    public var decided: CalendarDate?
    /// Whether the objection was filed within the objection period (Awb 6:9); nil before it is filed.
    public var filedInTime: Bool?
    public var changes: DecisionPeriodChanges
    /// Where the decision period stands today (nil until the objection is received, and once it is
    /// withdrawn: nothing runs any more).
    public var standing: DeadlineStanding?
    /// What the citizen can do next, in one sentence.
    public var nextStep: String
    /// The edition of the designated-days data used, and whether it covers the dates involved.
    public var holidayData: String

    /// Days from today to the decision deadline (negative when overdue), for ordering by urgency;
    /// cases without a running deadline sort last.
    public var urgency: Int {
        switch standing {
        case .running(let days): days
        case .overdue(let days): -days
        case .paused: 100_000
        case .decided, nil: 200_000
        }
    }

    /// The order of `urgency` without the day it is measured on, so that a device can keep it in an index:
    /// the day the decision period ends for a running or overdue period (earliest first), then paused
    /// cases, then the rest. Cases compare alike by either (the period's end does not move with the day
    /// unless it is paused, and paused cases sort together).
    public var urgencyOrder: Int {
        switch standing {
        case .running, .overdue: decisionPeriod.map { $0.end.daysSince1970 } ?? Self.lastOrder
        case .paused: Self.lastOrder - 1
        case .decided, nil: Self.lastOrder
        }
    }

    static let lastOrder = 100_000_000

    /// The deadlines of `record` given its timeline, on `today` (a date in the Netherlands).
    public init(record: CaseRecord, events: [TimelineEvent], today: CalendarDate, workingDays: WorkingDays = WorkingDays()) {
        let ordered = events.sorted { $0.at < $1.at }
        let announced = record.fields[CaseField.decisionDate.rawValue].flatMap(CalendarDate.init)
        let municipalTax = record.fields[CaseField.decisionType.rawValue] == DecisionType.municipalTax.rawValue
        let committee = record.fields[CaseField.advisoryCommittee.rawValue] == "yes"
        changes = DecisionPeriodChanges(events: ordered)
        received = ordered.first { $0.type == .statusChanged && $0.status == .submitted }.map { CalendarDate(amsterdam: $0.at) }
        decided = ordered.last { $0.type == .decided || ($0.type == .statusChanged && $0.status == .decided) }
            .map { CalendarDate(amsterdam: $0.at) }
        objectionPeriod = announced.map { StatutoryDeadlines.objectionPeriod(announced: $0, taxAssessment: municipalTax, workingDays: workingDays) }
        if let objectionPeriod, let received {
            filedInTime = received <= objectionPeriod.end
            decisionPeriod = StatutoryDeadlines.decisionPeriod(
                objectionPeriod: objectionPeriod, received: received, advisoryCommittee: committee, municipalTax: municipalTax,
                changes: changes, today: decided ?? today, workingDays: workingDays)
        }
        let dates = [objectionPeriod?.end, decisionPeriod?.end].compactMap { $0 }
        holidayData = workingDays.designated.version
            + (dates.allSatisfy(workingDays.designated.covers) ? "" : " — does not cover \(dates.filter { !workingDays.designated.covers($0) }.map { String($0.year) }.joined(separator: ", ")): only the statutory holidays were counted")
        if let period = decisionPeriod, record.status != .withdrawn {
            if let decided {
                standing = .decided(on: decided, daysLate: max(0, decided.daysSince1970 - period.end.daysSince1970))
            } else if let since = changes.pausedSince {
                standing = .paused(since: since)
            } else if today <= period.end {
                standing = .running(daysLeft: period.end.daysSince1970 - today.daysSince1970 + 1)
            } else {
                standing = .overdue(days: today.daysSince1970 - period.end.daysSince1970)
            }
        }
        nextStep = Self.nextStep(status: record.status, objectionPeriod: objectionPeriod, decisionPeriod: decisionPeriod,
                                 standing: standing, filedInTime: filedInTime, today: today, decided: decided)
    }

    static func nextStep(
        status: CaseStatus, objectionPeriod: StatutoryPeriod?, decisionPeriod: StatutoryPeriod?, standing: DeadlineStanding?,
        filedInTime: Bool?, today: CalendarDate, decided: CalendarDate?
    ) -> String {
        switch status {
        case .draft:
            guard let objectionPeriod else { return "Add the date of the decision you object to (decisionDate) to see your deadline." }
            if today > objectionPeriod.end {
                return "The objection period ended on \(objectionPeriod.end); file anyway and explain why you are late (Awb 6:11)."
            }
            return "File your objection by \(objectionPeriod.end) (\(objectionPeriod.end.daysSince1970 - today.daysSince1970 + 1) days left, today included)."
        case .withdrawn:
            return "You withdrew this objection; nothing is running."
        case .decided, .closed:
            let date = decided ?? today
            let appeal = StatutoryDeadlines.objectionPeriod(announced: date, taxAssessment: false)
            return "Decided on \(date). If you disagree you can appeal to the administrative court until \(appeal.end) (Awb 6:7, 8:1)."
        default:
            break
        }
        if filedInTime == false {
            return "The objection arrived after the objection period; the authority may declare it inadmissible unless the delay is excusable (Awb 6:11)."
        }
        switch standing {
        case .running(let days)?:
            return "The authority must decide by \(decisionPeriod!.end) (\(days) days left); there is nothing you need to do."
        case .overdue?:
            return "The authority is late. Send a notice of default (`casesync notice CASE`); two weeks after it arrives a penalty of up to 1,442 euro runs (Awb 4:17)."
        case .paused(let since)?:
            return "The decision period stands still since \(since) until you repair what the authority asked for (Awb 6:6, 7:10 lid 2)."
        default:
            if let objectionPeriod {
                return "Your objection is ready on this device; sync to send it. It must reach the authority by \(objectionPeriod.end); the decision deadline counts from then."
            }
            return "Once the objection has reached the authority, its decision deadline appears here."
        }
    }
}

/// What kind of decision an objection is against: it decides which periods apply.
public enum DecisionType: String, Sendable, CaseIterable {
    /// A decision under the Awb (the default).
    case decision
    /// A municipal tax assessment such as a parking-tax fine (AWR art. 22j, Gemeentewet art. 236).
    case municipalTax = "municipal_tax"
}
