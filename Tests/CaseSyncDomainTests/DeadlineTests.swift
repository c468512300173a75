import CaseSyncDomain
import CaseSyncProtocol
import Testing

private func date(_ text: String) -> CalendarDate { CalendarDate(text)! }

@Suite("Statutory deadlines")
struct DeadlineTests {
    // MARK: Atw art. 3: public holidays

    @Test(arguments: [
        (2023, "2023-04-09"), (2024, "2024-03-31"), (2025, "2025-04-20"), (2026, "2026-04-05"), (2027, "2027-03-28"),
        (2028, "2028-04-16"), (2000, "2000-04-23"), (2038, "2038-04-25"),
    ])
    func easterSunday(year: Int, expected: String) {
        #expect(WorkingDays.easterSunday(year) == date(expected))
    }

    @Test(arguments: [
        ("2026-01-01", "New Year's Day"), ("2026-04-03", "Good Friday"), ("2026-04-06", "Easter Monday"),
        ("2026-04-27", "King's Day"), ("2025-04-26", "King's Day"), ("2026-05-05", "Liberation Day"),
        ("2026-05-14", "Ascension Day"), ("2026-05-25", "Whit Monday"), ("2026-12-25", "Christmas Day"),
        ("2026-12-26", "Boxing Day"), ("2026-01-02", "Friday after New Year's Day"),
        ("2026-05-15", "Friday after Ascension Day"), ("2027-04-26", "Monday before King's Day"),
        ("2026-03-07", "Saturday"), ("2026-03-08", "Sunday"),
    ])
    func daysThatAreNotWorkingDays(day: String, reason: String) throws {
        let why = try #require(WorkingDays().reasonNotWorking(date(day)))
        #expect(why.hasPrefix(reason))
    }

    @Test(arguments: ["2026-03-02", "2025-04-25", "2025-04-28", "2026-05-04", "2026-04-28", "2026-12-24", "2026-12-31"])
    func workingDays(day: String) {
        #expect(WorkingDays().isWorkingDay(date(day)))
    }

    @Test func designatedDaysAreVersionedData() {
        let without = WorkingDays(designated: DesignatedDays(version: "none", years: 2026...2026, days: []))
        #expect(without.isWorkingDay(date("2026-05-15")))
        #expect(!WorkingDays().isWorkingDay(date("2026-05-15")))
        #expect(DesignatedDays.current.years == 2023...2028)
    }

    // MARK: The objection period (Awb 6:7, 6:8; AWR 22j; Atw art. 1)

    @Test(arguments: [
        // Issue vector 1: announced Monday 2 March 2026 → ends Monday 13 April.
        ("2026-03-02", "2026-04-13", "2026-04-13"),
        // Issue vector 2: six weeks end on King's Day → the next working day.
        ("2026-03-16", "2026-04-27", "2026-04-28"),
        // Ends on Good Friday; Saturday, Sunday and Easter Monday follow.
        ("2026-02-20", "2026-04-03", "2026-04-07"),
        // Ends on Ascension Day; the Friday after is designated, then the weekend.
        ("2026-04-02", "2026-05-14", "2026-05-18"),
        // Ends on New Year's Day 2026; 2 January is designated.
        ("2025-11-20", "2026-01-01", "2026-01-05"),
        // Ends on a Saturday.
        ("2026-03-07", "2026-04-18", "2026-04-20"),
    ])
    func objectionPeriod(announced: String, counted: String, end: String) {
        let period = StatutoryDeadlines.objectionPeriod(announced: date(announced), taxAssessment: false)
        #expect(period.start == date(announced).adding(days: 1))
        #expect(period.countedEnd == date(counted))
        #expect(period.end == date(end))
        #expect(period.basis.first == "Awb 6:7 (six weeks)")
        #expect(period.basis.contains { $0.hasPrefix("Atw art. 1 lid 1") } == (counted != end))
    }

    @Test func aTaxAssessmentCountsFromTheDayAfterItsDate() {
        let period = StatutoryDeadlines.objectionPeriod(announced: date("2026-03-02"), taxAssessment: true)
        #expect(period.end == date("2026-04-13"))
        #expect(period.basis.contains { $0.hasPrefix("AWR art. 22j") })
    }

    // MARK: The decision period (Awb 7:10, 7:13; Gemeentewet 236)

    static let vector1 = StatutoryDeadlines.objectionPeriod(announced: date("2026-03-02"), taxAssessment: false)

    func decision(
        _ objection: StatutoryPeriod = vector1, received: String = "2026-03-20", committee: Bool = false, tax: Bool = false,
        changes: DecisionPeriodChanges = DecisionPeriodChanges(), today: String = "2026-04-01"
    ) -> StatutoryPeriod {
        StatutoryDeadlines.decisionPeriod(
            objectionPeriod: objection, received: date(received), advisoryCommittee: committee, municipalTax: tax,
            changes: changes, today: date(today))
    }

    @Test func issueVector3SixWeeksEndOnWhitMonday() {
        let period = decision()
        #expect(period.start == date("2026-04-14"))
        #expect(period.countedEnd == date("2026-05-25"))
        #expect(period.end == date("2026-05-26"))
    }

    @Test func issueVector3WithAnAdvisoryCommitteeTwelveWeeks() {
        let period = decision(committee: true)
        #expect(period.end == date("2026-07-06"))
        #expect(period.basis.first!.contains("7:13"))
    }

    @Test func aLateObjectionPeriodMovesTheDecisionPeriod() {
        let objection = StatutoryDeadlines.objectionPeriod(announced: date("2026-03-16"), taxAssessment: false)
        // The objection period ran to 28 April (King's Day): the decision period starts on the 29th.
        #expect(decision(objection, received: "2026-04-20").start == date("2026-04-29"))
    }

    @Test func issueVector4ParkingTaxWithinTheCalendarYear() {
        let objection = StatutoryDeadlines.objectionPeriod(announced: date("2026-03-02"), taxAssessment: true)
        let period = decision(objection, received: "2026-03-16", tax: true)
        #expect(period.end == date("2026-12-31"))
        #expect(period.basis.first!.hasPrefix("Gemeentewet art. 236 lid 2"))
    }

    @Test(arguments: [("2026-11-19", "2026-12-31"), ("2026-11-20", "2027-01-07"), ("2026-11-26", "2027-01-07"), ("2026-12-31", "2027-02-11")])
    func parkingTaxReceivedInTheLastSixWeeksFollowsTheAwb(received: String, end: String) {
        // Assessment dated 15 October: the objection period ends Thursday 26 November. Received on
        // 31 December, after it ended, the six weeks count from the day after receipt.
        let objection = StatutoryDeadlines.objectionPeriod(announced: date("2026-10-15"), taxAssessment: true)
        #expect(objection.end == date("2026-11-26"))
        #expect(decision(objection, received: received, tax: true).end == date(end))
    }

    @Test func aPeriodInYearsIsNotExtendedPastASunday() {
        let objection = StatutoryDeadlines.objectionPeriod(announced: date("2028-03-01"), taxAssessment: true)
        let period = decision(objection, received: "2028-03-10", tax: true)
        #expect(period.end == date("2028-12-31")) // a Sunday
        #expect(period.basis.contains { $0.hasPrefix("Atw art. 4a") })
    }

    @Test func postponementBySixWeeksWithoutConsent() {
        let period = decision(changes: DecisionPeriodChanges(postponements: [.init(weeks: 6, consent: false)]))
        #expect(period.countedEnd == date("2026-07-06"))
        #expect(period.end == date("2026-07-06"))
        #expect(period.basis.contains { $0.hasPrefix("Awb 7:10 lid 3") })
    }

    @Test func beyondTwelveWeeksTheAtwNoLongerApplies() {
        // 6 weeks + 6 (lid 3) + 4 with consent (lid 4) = 16 weeks from 14 April: Monday 3 August; a pause
        // of 5 days (21–25 April) moves it to Saturday 8 August, where it stays.
        let changes = DecisionPeriodChanges(
            postponements: [.init(weeks: 6, consent: false), .init(weeks: 4, consent: true)],
            pauses: [.init(requested: date("2026-04-20"), resumed: date("2026-04-26"))])
        let period = decision(changes: changes)
        #expect(period.countedEnd == date("2026-08-08"))
        #expect(period.end == date("2026-08-08"))
        #expect(period.basis.contains { $0.hasPrefix("Awb 7:10 lid 4") })
        #expect(period.basis.contains { $0.hasPrefix("Atw art. 4a") })
    }

    @Test func aPauseForARepairAddsTheDaysBetween() {
        // Asked on 20 April, repaired on 30 April: 21–29 April stand still, 9 days.
        let pause = DecisionPeriodChanges.Pause(requested: date("2026-04-20"), resumed: date("2026-04-30"))
        #expect(pause.days(today: date("2026-05-01")) == 9)
        let period = decision(changes: DecisionPeriodChanges(pauses: [pause]))
        #expect(period.countedEnd == date("2026-06-03"))
        #expect(period.basis.contains { $0.hasPrefix("Awb 7:10 lid 2") })
    }

    @Test func aRunningPauseCountsUpToToday() {
        let pause = DecisionPeriodChanges.Pause(requested: date("2026-04-20"), resumed: nil)
        #expect(pause.days(today: date("2026-04-25")) == 4)
        #expect(DecisionPeriodChanges(pauses: [pause]).pausedSince == date("2026-04-20"))
    }

    // MARK: Penalty for a late decision (Awb 4:17)

    @Test(arguments: [
        ("2026-06-14", 0, 0), ("2026-06-15", 1, 23), ("2026-06-28", 14, 322), ("2026-06-29", 15, 357),
        ("2026-07-12", 28, 812), ("2026-07-13", 29, 857), ("2026-07-26", 42, 1_442), ("2026-12-31", 42, 1_442),
    ])
    func penaltyRunsTwoWeeksAfterTheNotice(on day: String, days: Int, euro: Int) {
        let owed = LateDecisionPenalty.owed(noticeReceived: date("2026-06-01"), on: date(day))
        #expect(owed.days == days)
        #expect(owed.euro == euro)
    }

    @Test func thePenaltyStopsWhenTheAuthorityDecidesAndIsCapped() {
        #expect(LateDecisionPenalty.maximum == 1_442)
        let owed = LateDecisionPenalty.owed(noticeReceived: date("2026-06-01"), on: date("2026-07-31"), decided: date("2026-06-20"))
        #expect(owed.days == 5)
        #expect(owed.euro == 115)
    }

    // MARK: Dates in the Netherlands

    @Test(arguments: [
        ("2026-03-16T22:59:59.000Z", "2026-03-16"), ("2026-03-16T23:00:00.000Z", "2026-03-17"),
        ("2026-06-30T21:59:00.000Z", "2026-06-30"), ("2026-06-30T22:00:00.000Z", "2026-07-01"),
        ("2026-03-29T00:59:00.000Z", "2026-03-29"), ("2026-10-25T00:30:00.000Z", "2026-10-25"),
        ("2026-12-31T23:30:00.000Z", "2027-01-01"),
    ])
    func amsterdamDates(moment: String, expected: String) {
        #expect(CalendarDate(amsterdam: Timestamp(iso8601: moment)!) == date(expected))
    }

    // MARK: A case's deadlines from its timeline

    func record(status: CaseStatus, fields: [String: String] = [:]) -> CaseRecord {
        CaseRecord(
            id: "c1", kind: .objection, authorityId: "gm0344", citizenId: "anna", status: status,
            fields: ["title": "Parking fine", "grounds": "Valid permit", "decisionReference": "PT-1", "decisionDate": "2026-03-02"]
                .merging(fields) { $1 },
            clocks: [:], createdAt: Timestamp(iso8601: "2026-03-10T09:00:00Z")!, updatedAt: Timestamp(iso8601: "2026-03-10T09:00:00Z")!)
    }

    func event(_ type: TimelineEventType, _ at: String, status: CaseStatus? = nil, weeks: Int? = nil, consent: Bool? = nil, on: String? = nil) -> TimelineEvent {
        TimelineEvent(
            id: "e-\(at)", caseId: "c1", type: type, at: Timestamp(iso8601: at)!, actorRole: .officer, status: status,
            weeks: weeks, consent: consent, effectiveDate: on.map(date))
    }

    @Test func aDraftShowsItsObjectionPeriod() {
        let deadlines = CaseDeadlines(record: record(status: .draft), events: [], today: date("2026-04-10"))
        #expect(deadlines.objectionPeriod?.end == date("2026-04-13"))
        #expect(deadlines.decisionPeriod == nil)
        #expect(deadlines.nextStep.contains("File your objection by 2026-04-13 (4 days left"))
    }

    @Test func aFiledObjectionRunsThenGoesOverdue() {
        let events = [event(.statusChanged, "2026-03-20T10:00:00Z", status: .submitted)]
        let running = CaseDeadlines(record: record(status: .received), events: events, today: date("2026-05-20"))
        #expect(running.received == date("2026-03-20"))
        #expect(running.filedInTime == true)
        #expect(running.decisionPeriod?.end == date("2026-05-26"))
        #expect(running.standing == .running(daysLeft: 7))
        let late = CaseDeadlines(record: record(status: .inReview), events: events, today: date("2026-06-02"))
        #expect(late.standing == .overdue(days: 7))
        #expect(late.nextStep.contains("notice of default"))
        #expect(late.urgency < running.urgency)
    }

    @Test func aWithdrawnObjectionHasNothingRunningAndSortsLast() {
        let events = [event(.statusChanged, "2026-03-20T10:00:00Z", status: .submitted)]
        let withdrawn = CaseDeadlines(record: record(status: .withdrawn), events: events, today: date("2026-06-02"))
        #expect(withdrawn.decisionPeriod?.end == date("2026-05-26"), "the period it had is still shown")
        #expect(withdrawn.standing == nil)
        #expect(withdrawn.nextStep.contains("withdrew"))
        let running = CaseDeadlines(record: record(status: .received), events: events, today: date("2026-05-20"))
        #expect(running.urgency < withdrawn.urgency && running.urgencyOrder < withdrawn.urgencyOrder)
    }

    @Test func timelineEventsMoveTheDeadline() {
        let events = [
            event(.statusChanged, "2026-03-20T10:00:00Z", status: .submitted),
            event(.postponed, "2026-05-01T10:00:00Z", weeks: 2, consent: false),
            event(.paused, "2026-05-04T10:00:00Z", on: "2026-05-04"),
            event(.resumed, "2026-05-11T10:00:00Z", on: "2026-05-11"),
        ]
        let deadlines = CaseDeadlines(record: record(status: .inReview), events: events, today: date("2026-05-12"))
        // 25 May + 2 weeks + 6 paused days (5–10 May) = 14 June, a Sunday → Monday 15 June.
        #expect(deadlines.decisionPeriod?.countedEnd == date("2026-06-14"))
        #expect(deadlines.decisionPeriod?.end == date("2026-06-15"))
        let paused = CaseDeadlines(record: record(status: .inReview), events: Array(events.prefix(3)), today: date("2026-05-06"))
        #expect(paused.standing == .paused(since: date("2026-05-04")))
    }

    @Test func aDecisionEndsTheClockAndShowsTheAppealPeriod() {
        let events = [
            event(.statusChanged, "2026-03-20T10:00:00Z", status: .submitted),
            event(.decided, "2026-05-29T10:00:00Z"),
        ]
        let deadlines = CaseDeadlines(record: record(status: .decided), events: events, today: date("2026-06-01"))
        #expect(deadlines.standing == .decided(on: date("2026-05-29"), daysLate: 3))
        #expect(deadlines.nextStep.contains("appeal"))
    }

    @Test func anObjectionFiledTooLateSaysSoAndCountsFromItsReceipt() {
        let events = [event(.statusChanged, "2026-04-20T10:00:00Z", status: .submitted)]
        let deadlines = CaseDeadlines(record: record(status: .submitted), events: events, today: date("2026-04-21"))
        #expect(deadlines.filedInTime == false)
        #expect(deadlines.nextStep.contains("Awb 6:11"))
        // Six weeks from 21 April: 1 June.
        #expect(deadlines.decisionPeriod?.start == date("2026-04-21"))
        #expect(deadlines.decisionPeriod?.end == date("2026-06-01"))
    }

    @Test func datesOutsideTheHolidayDataAreFlagged() {
        let deadlines = CaseDeadlines(record: record(status: .draft, fields: ["decisionDate": "2031-03-03"]), events: [], today: date("2031-03-04"))
        #expect(deadlines.holidayData.contains("does not cover 2031"))
    }
}
