import CaseSyncProtocol

/// Dates as letters write them: `25 januari 2027` in Dutch, `25 January 2027` in English.
extension CalendarDate {
    static let dutchMonths = [
        "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november",
        "december",
    ]
    static let englishMonths = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
        "December",
    ]

    /// `25 januari 2027`.
    public var dutchLetterForm: String { "\(day) \(Self.dutchMonths[month - 1]) \(year)" }

    /// `25 January 2027`.
    public var englishLetterForm: String { "\(day) \(Self.englishMonths[month - 1]) \(year)" }
}
