import CaseSyncProtocol

/// Saturdays, Sundays and the generally recognised public holidays of the General Time Limits Act
/// (Algemene termijnenwet, Atw), which push the end of a statutory period to the next working day.
///
/// - Atw art. 3 lid 1: New Year's Day, Easter Monday, Ascension Day, Whit Monday, Christmas Day and
///   Boxing Day, the day the King's birthday is celebrated (27 April, or 26 April when the 27th is a
///   Sunday) and 5 May. (Easter Sunday and Whit Sunday are Sundays anyway.)
/// - Atw art. 3 lid 2: Good Friday.
/// - Atw art. 3 lid 3: days designated by royal decree, shipped as versioned data (`DesignatedDays`).
public struct WorkingDays: Sendable {
    public let designated: DesignatedDays

    public init(designated: DesignatedDays = .current) { self.designated = designated }

    /// Why `date` is not a working day (e.g. "Saturday", "King's Day (Atw art. 3 lid 1)"), or nil.
    public func reasonNotWorking(_ date: CalendarDate) -> String? {
        if let holiday = Self.statutoryHoliday(date) { return holiday }
        if let day = designated.day(date) { return "\(day.name) (designated by royal decree, Atw art. 3 lid 3)" }
        switch date.isoWeekday {
        case 6: return "Saturday"
        case 7: return "Sunday"
        default: return nil
        }
    }

    public func isWorkingDay(_ date: CalendarDate) -> Bool { reasonNotWorking(date) == nil }

    /// The first working day on or after `date` (Atw art. 1 lid 1).
    public func onOrAfter(_ date: CalendarDate) -> CalendarDate {
        var day = date
        while !isWorkingDay(day) { day = day.adding(days: 1) }
        return day
    }

    /// The public holiday of Atw art. 3 lid 1 or 2 on `date`, if any.
    public static func statutoryHoliday(_ date: CalendarDate) -> String? {
        let year = date.year
        let easter = easterSunday(year)
        let fixed: [(CalendarDate?, String)] = [
            (CalendarDate(year: year, month: 1, day: 1), "New Year's Day (Atw art. 3 lid 1)"),
            (kingsDay(year), "King's Day (Atw art. 3 lid 1)"),
            (CalendarDate(year: year, month: 5, day: 5), "Liberation Day, 5 May (Atw art. 3 lid 1)"),
            (CalendarDate(year: year, month: 12, day: 25), "Christmas Day (Atw art. 3 lid 1)"),
            (CalendarDate(year: year, month: 12, day: 26), "Boxing Day (Atw art. 3 lid 1)"),
            (easter.adding(days: -2), "Good Friday (Atw art. 3 lid 2)"),
            (easter.adding(days: 1), "Easter Monday (Atw art. 3 lid 1)"),
            (easter.adding(days: 39), "Ascension Day (Atw art. 3 lid 1)"),
            (easter.adding(days: 50), "Whit Monday (Atw art. 3 lid 1)"),
        ]
        return fixed.first { $0.0 == date }?.1
    }

    /// 27 April, or 26 April when the 27th is a Sunday.
    public static func kingsDay(_ year: Int) -> CalendarDate {
        let day = CalendarDate(year: year, month: 4, day: 27)!
        return day.isoWeekday == 7 ? day.adding(days: -1) : day
    }

    /// Easter Sunday of the Gregorian calendar (the anonymous Gregorian algorithm, "Meeus/Jones/Butcher").
    public static func easterSunday(_ year: Int) -> CalendarDate {
        let a = year % 19, b = year / 100, c = year % 100
        let d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30
        let i = c / 4, k = c % 4
        let l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = (h + l - 7 * m + 114) % 31 + 1
        return CalendarDate(year: year, month: month, day: day)!
    }
}

/// Days that a royal decree puts on a par with public holidays (Atw art. 3 lid 3). The decrees are
/// taken every three years and published in the Staatscourant; this is data, versioned, so that a new
/// decree is a data change, not a code change.
public struct DesignatedDays: Sendable {
    public struct Day: Sendable, Hashable {
        public var date: CalendarDate
        public var name: String
    }

    /// Which edition of the data this is; shown beside every deadline it affects.
    public let version: String
    /// The years the data covers; for other years only the statutory holidays are known.
    public let years: ClosedRange<Int>
    public let days: [Day]

    public init(version: String, years: ClosedRange<Int>, days: [Day]) {
        self.version = version
        self.years = years
        self.days = days
    }

    public func day(_ date: CalendarDate) -> Day? { days.first { $0.date == date } }

    /// Whether the data covers `date`'s year.
    public func covers(_ date: CalendarDate) -> Bool { years.contains(date.year) }

    /// The edition shipped with this release: 2023–2028. Each decree follows one pattern: the Friday
    /// after Ascension Day; the Friday after New Year's Day, King's Day or Boxing Day when that falls on a
    /// Thursday; the Monday before New Year's Day, King's Day or Christmas Day when that falls on a
    /// Tuesday. 2026 (2 January, 15 May) is as decreed.
    public static let current = DesignatedDays(
        version: "atw-designated-days 2026.1 (2023–2028)",
        years: 2023...2028,
        days: [
            (2023, 4, 28, "Friday after King's Day"), (2023, 5, 19, "Friday after Ascension Day"),
            (2024, 5, 10, "Friday after Ascension Day"),
            (2025, 5, 30, "Friday after Ascension Day"),
            (2026, 1, 2, "Friday after New Year's Day"), (2026, 5, 15, "Friday after Ascension Day"),
            (2027, 4, 26, "Monday before King's Day"), (2027, 5, 7, "Friday after Ascension Day"),
            (2028, 4, 28, "Friday after King's Day"), (2028, 5, 26, "Friday after Ascension Day"),
        ].map { Day(date: CalendarDate(year: $0.0, month: $0.1, day: $0.2)!, name: $0.3) })
}
