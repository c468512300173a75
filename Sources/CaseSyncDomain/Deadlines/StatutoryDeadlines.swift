import CaseSyncProtocol

/// A statutory period: the day it starts counting, the day it ends by the count alone and the day it
/// really ends once the General Time Limits Act has had its say, with every rule applied, in order.
public struct StatutoryPeriod: Sendable, Hashable {
    /// The first day counted (the day after the triggering day).
    public var start: CalendarDate
    /// The last day by the count alone (weeks, postponements and pauses added).
    public var countedEnd: CalendarDate
    /// The last day on which the act is on time (ZGW: `uiterlijkeEinddatumAfdoening` for a decision).
    public var end: CalendarDate
    /// The rules that made it, with their articles, in the order they were applied.
    public var rules: [LegalBasis]

    /// The rules in English, as the device shows them.
    public var basis: [String] { rules.map(\.english) }
    /// The rules in Dutch, as a letter to the authority cites them.
    public var basisInDutch: [String] { rules.map(\.dutch) }
}

/// One rule a period was made by: the article and what it did, in English (for the person) and in
/// Dutch (for letters to the authority).
public struct LegalBasis: Sendable, Hashable {
    public var english: String
    public var dutch: String

    public init(_ english: String, dutch: String) {
        self.english = english
        self.dutch = dutch
    }
}

/// What moves the decision period after the objection is in: postponements and pauses (Awb 7:10).
public struct DecisionPeriodChanges: Sendable, Hashable {
    public struct Postponement: Sendable, Hashable {
        public var weeks: Int
        /// With the objector's consent (Awb 7:10 lid 4), which lifts the six-week cap of lid 3.
        public var consent: Bool
        public init(weeks: Int, consent: Bool) {
            self.weeks = weeks
            self.consent = consent
        }
    }

    public struct Pause: Sendable, Hashable {
        /// The day the objector was asked to repair a defect (Awb 6:6).
        public var requested: CalendarDate
        /// The day the defect was repaired or the repair period lapsed; nil while it runs.
        public var resumed: CalendarDate?
        public init(requested: CalendarDate, resumed: CalendarDate?) {
            self.requested = requested
            self.resumed = resumed
        }

        /// Days the period stands still: from the day after the request up to (not including) the day
        /// of the repair: "vanaf de dag na die waarop ... is verzocht ... tot de dag waarop het verzuim is
        /// hersteld" (Awb 7:10 lid 2). A pause still running counts up to `today`.
        public func days(today: CalendarDate) -> Int {
            max(0, (resumed ?? today).daysSince1970 - requested.daysSince1970 - 1)
        }
    }

    public var postponements: [Postponement]
    public var pauses: [Pause]

    public init(postponements: [Postponement] = [], pauses: [Pause] = []) {
        self.postponements = postponements
        self.pauses = pauses
    }

    /// The postponements and pauses a case's timeline records (events in any order).
    public init(events: [TimelineEvent]) {
        self.init()
        for event in events.sorted(by: { $0.at < $1.at }) {
            switch event.type {
            case .postponed:
                postponements.append(Postponement(weeks: event.weeks ?? 0, consent: event.consent ?? false))
            case .paused:
                pauses.append(Pause(requested: event.effectiveDate ?? CalendarDate(amsterdam: event.at), resumed: nil))
            case .resumed:
                if let open = pauses.lastIndex(where: { $0.resumed == nil }) {
                    pauses[open].resumed = event.effectiveDate ?? CalendarDate(amsterdam: event.at)
                }
            default:
                break
            }
        }
    }

    /// Weeks of postponement without consent; Awb 7:10 lid 3 allows at most six.
    public var weeksWithoutConsent: Int { postponements.filter { !$0.consent }.reduce(0) { $0 + $1.weeks } }
    public var totalWeeks: Int { postponements.reduce(0) { $0 + $1.weeks } }
    public var pausedSince: CalendarDate? { pauses.last { $0.resumed == nil }?.requested }
}

/// The statutory periods of an objection (bezwaar), computed the same way on every device.
public enum StatutoryDeadlines {
    /// Awb 7:10 lid 3: the authority may postpone by at most six weeks on its own.
    public static let maxPostponementWeeksWithoutConsent = 6

    /// The objection period: six weeks from the day after the decision was announced (Awb 6:7, 6:8 lid 1)
    /// or, for a tax assessment, from the day after its date (AWR art. 22j), ending on the next working
    /// day when it would end on a weekend or public holiday (Atw art. 1 lid 1).
    public static func objectionPeriod(
        announced: CalendarDate, taxAssessment: Bool, workingDays: WorkingDays = WorkingDays()
    ) -> StatutoryPeriod {
        let start = announced.adding(days: 1)
        var rules = [LegalBasis("Awb 6:7 (six weeks)", dutch: "artikel 6:7 Awb (zes weken)")]
        rules.append(
            taxAssessment
                ? LegalBasis(
                    "AWR art. 22j (from the day after the assessment's date)",
                    dutch: "artikel 22j AWR (vanaf de dag na de dagtekening van de aanslag)")
                : LegalBasis(
                    "Awb 6:8 lid 1 (from the day after the announcement)",
                    dutch: "artikel 6:8, eerste lid, Awb (vanaf de dag na de bekendmaking)"))
        return extend(StatutoryPeriod(start: start, countedEnd: start.adding(days: 6 * 7 - 1), end: start, rules: rules),
                      weeks: 6, workingDays: workingDays)
    }

    /// The decision period on an objection.
    ///
    /// - Awb 7:10 lid 1: six weeks, or twelve with an advisory committee (Awb 7:13), from the day after the
    ///   objection period ended; lid 3 and 4: postponements; lid 2: pauses while a defect is repaired.
    /// - Gemeentewet art. 236 lid 2 (municipal taxes): within the calendar year in which the objection was
    ///   received, unless it was received in the last six weeks of that year; then the Awb period applies.
    /// - Atw art. 1 lid 1 moves an end on a weekend or public holiday to the next working day, except for
    ///   periods of more than twelve weeks or in years (Atw art. 4a).
    public static func decisionPeriod(
        objectionPeriod: StatutoryPeriod, received: CalendarDate, advisoryCommittee: Bool, municipalTax: Bool,
        changes: DecisionPeriodChanges = DecisionPeriodChanges(), today: CalendarDate,
        workingDays: WorkingDays = WorkingDays()
    ) -> StatutoryPeriod {
        let pausedDays = changes.pauses.reduce(0) { $0 + $1.days(today: today) }
        let yearEnd = CalendarDate(year: received.year, month: 12, day: 31)!
        if municipalTax, received < yearEnd.adding(days: -(6 * 7 - 1)) {
            var rules = [
                LegalBasis(
                    "Gemeentewet art. 236 lid 2 (within the calendar year in which the objection was received)",
                    dutch: "artikel 236, tweede lid, Gemeentewet (binnen het kalenderjaar waarin het bezwaar is ontvangen)"),
            ]
            var end = yearEnd
            if changes.totalWeeks > 0 {
                end = end.adding(days: changes.totalWeeks * 7)
                let consent = changes.postponements.contains { $0.consent }
                rules.append(
                    LegalBasis(
                        "Awb 7:10 lid 3\(consent ? " and 4" : "") (postponed \(changes.totalWeeks) weeks)",
                        dutch: "artikel 7:10, derde\(consent ? " en vierde" : "") lid, Awb (\(changes.totalWeeks) weken verdaagd)"))
            }
            if pausedDays > 0 {
                end = end.adding(days: pausedDays)
                rules.append(Self.paused(pausedDays))
            }
            rules.append(
                LegalBasis(
                    "Atw art. 4a (a period in years is not extended past weekends and holidays)",
                    dutch: "artikel 4a Algemene termijnenwet (een termijn in jaren wordt niet verlengd over weekend- en feestdagen)"))
            return StatutoryPeriod(start: received, countedEnd: end, end: end, rules: rules)
        }
        // An objection filed after the objection period cannot have been decided on before it arrived:
        // its period counts from the day after receipt.
        let late = received > objectionPeriod.end
        let start = late ? received.adding(days: 1) : objectionPeriod.end.adding(days: 1)
        let weeks = advisoryCommittee ? 12 : 6
        var rules = [
            advisoryCommittee
                ? LegalBasis(
                    "Awb 7:10 lid 1 with Awb 7:13 (twelve weeks: an advisory committee hears the objection)",
                    dutch: "artikel 7:10, eerste lid, met artikel 7:13 Awb (twaalf weken: een adviescommissie hoort het bezwaar)")
                : LegalBasis(
                    "Awb 7:10 lid 1 (six weeks from the day after the objection period ended)",
                    dutch: "artikel 7:10, eerste lid, Awb (zes weken vanaf de dag na afloop van de bezwaartermijn)"),
        ]
        if late {
            rules.append(
                LegalBasis(
                    "filed after the objection period ended (\(objectionPeriod.end)): counted from the day after it was received",
                    dutch: "ingediend na afloop van de bezwaartermijn (\(objectionPeriod.end.dutchLetterForm)): gerekend vanaf de dag na ontvangst"))
        }
        if municipalTax {
            rules.insert(
                LegalBasis(
                    "Gemeentewet art. 236 lid 2 (received in the last six weeks of the year: the Awb period applies)",
                    dutch: "artikel 236, tweede lid, Gemeentewet (ontvangen in de laatste zes weken van het jaar: de termijn van de Awb geldt)"),
                at: 0)
        }
        var countedEnd = start.adding(days: weeks * 7 - 1)
        if changes.weeksWithoutConsent > 0 {
            rules.append(
                LegalBasis(
                    "Awb 7:10 lid 3 (postponed \(changes.weeksWithoutConsent) weeks)",
                    dutch: "artikel 7:10, derde lid, Awb (\(changes.weeksWithoutConsent) weken verdaagd)"))
        }
        let withConsent = changes.totalWeeks - changes.weeksWithoutConsent
        if withConsent > 0 {
            rules.append(
                LegalBasis(
                    "Awb 7:10 lid 4 (postponed \(withConsent) weeks with the objector's consent)",
                    dutch: "artikel 7:10, vierde lid, Awb (\(withConsent) weken uitgesteld met instemming van de indiener)"))
        }
        countedEnd = countedEnd.adding(days: changes.totalWeeks * 7)
        if pausedDays > 0 {
            countedEnd = countedEnd.adding(days: pausedDays)
            rules.append(Self.paused(pausedDays))
        }
        let period = StatutoryPeriod(start: start, countedEnd: countedEnd, end: countedEnd, rules: rules)
        return extend(period, weeks: weeks + changes.totalWeeks, workingDays: workingDays)
    }

    /// Awb 7:10 lid 2: the period stood still while a defect was repaired.
    static func paused(_ days: Int) -> LegalBasis {
        LegalBasis(
            "Awb 7:10 lid 2 (paused \(days) days while a defect was repaired)",
            dutch: "artikel 7:10, tweede lid, Awb (\(days) dagen opgeschort voor het herstel van een verzuim)")
    }

    /// Applies Atw art. 1 lid 1 to a period of `weeks` weeks, or notes that art. 4a excludes it.
    static func extend(_ period: StatutoryPeriod, weeks: Int, workingDays: WorkingDays) -> StatutoryPeriod {
        var period = period
        if weeks > 12 {
            period.rules.append(
                LegalBasis(
                    "Atw art. 4a (more than twelve weeks: not extended past weekends and holidays)",
                    dutch: "artikel 4a Algemene termijnenwet (langer dan twaalf weken: niet verlengd over weekend- en feestdagen)"))
            period.end = period.countedEnd
            return period
        }
        period.end = workingDays.onOrAfter(period.countedEnd)
        if period.end != period.countedEnd, let reason = workingDays.reasonNotWorking(period.countedEnd) {
            period.rules.append(
                LegalBasis(
                    "Atw art. 1 lid 1 (\(period.countedEnd) is \(reason): the next working day)",
                    dutch: "artikel 1, eerste lid, Algemene termijnenwet (\(period.countedEnd.dutchLetterForm) is geen werkdag: de eerstvolgende werkdag)"))
        }
        return period
    }
}

/// The penalty for a late decision on an objection (Awb 4:17, with 7:14).
public enum LateDecisionPenalty {
    /// Euro per day: 23 for days 1–14, 35 for days 15–28, 45 for days 29–42 (Awb 4:17 lid 2).
    public static func rate(day: Int) -> Int { day <= 14 ? 23 : day <= 28 ? 35 : 45 }
    public static let maxDays = 42
    /// 14 × 23 + 14 × 35 + 14 × 45 = 1,442 euro (Awb 4:17 lid 2).
    public static let maximum = (1...maxDays).reduce(0) { $0 + rate(day: $1) }

    /// The first day the penalty is owed: two weeks after the authority received the notice of default
    /// sent after the decision period passed (Awb 4:17 lid 3).
    public static func firstDay(noticeReceived: CalendarDate) -> CalendarDate { noticeReceived.adding(days: 14) }

    /// Days owed and the amount in euro up to and including `date` (or the day before the decision, if
    /// it came first: the penalty stops when the authority decides).
    public static func owed(noticeReceived: CalendarDate, on date: CalendarDate, decided: CalendarDate? = nil) -> (days: Int, euro: Int) {
        let first = firstDay(noticeReceived: noticeReceived)
        let last = decided.map { min($0.adding(days: -1), date) } ?? date
        let days = min(maxDays, max(0, last.daysSince1970 - first.daysSince1970 + 1))
        return (days, days == 0 ? 0 : (1...days).reduce(0) { $0 + rate(day: $1) })
    }
}

extension CalendarDate {
    /// The calendar date in the Netherlands (Europe/Amsterdam: CET, CEST from the last Sunday of March
    /// 01:00 UTC to the last Sunday of October 01:00 UTC) of a moment.
    public init(amsterdam moment: Timestamp) {
        let utc = moment.utcDate
        let year = utc.year
        let summerStart = Self.lastSunday(month: 3, year: year).daysSince1970 * 86_400_000 + 3_600_000
        let summerEnd = Self.lastSunday(month: 10, year: year).daysSince1970 * 86_400_000 + 3_600_000
        let millis = moment.millisecondsSince1970
        let offset: Int64 = (Int64(summerStart)...Int64(summerEnd - 1)).contains(millis) ? 7_200_000 : 3_600_000
        self = Timestamp(millisecondsSince1970: millis + offset).utcDate
    }

    static func lastSunday(month: Int, year: Int) -> CalendarDate {
        let last = CalendarDate(year: year, month: month, day: CalendarDate.daysIn(month: month, year: year))!
        return last.adding(days: -(last.isoWeekday % 7))
    }
}
