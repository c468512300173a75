/// A point in time with millisecond precision, written on the wire as UTC ISO-8601
/// (`2026-03-02T09:30:00.000Z`). Conversion is done by hand so that it is exact, fast and
/// the same on every platform.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSince1970: Int64

    public init(millisecondsSince1970: Int64) {
        self.millisecondsSince1970 = millisecondsSince1970
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSince1970 < rhs.millisecondsSince1970
    }

    /// The calendar day (UTC) this instant falls on.
    public var utcDate: CalendarDate {
        CalendarDate(daysSince1970: Int(floorDiv(millisecondsSince1970, 86_400_000)))
    }

    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendISO8601(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.fffZ` (the form `description` returns).
    func appendISO8601(to bytes: inout [UInt8]) {
        let date = utcDate
        let millisOfDay = UInt64(millisecondsSince1970 - Int64(date.daysSince1970) * 86_400_000)
        date.appendISO8601(to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        bytes.appendDigits(millisOfDay / 3_600_000, width: 2)
        bytes.append(UInt8(ascii: ":"))
        bytes.appendDigits(millisOfDay / 60_000 % 60, width: 2)
        bytes.append(UInt8(ascii: ":"))
        bytes.appendDigits(millisOfDay / 1000 % 60, width: 2)
        bytes.append(UInt8(ascii: "."))
        bytes.appendDigits(millisOfDay % 1000, width: 3)
        bytes.append(UInt8(ascii: "Z"))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`; returns nil for anything else.
    public init?(iso8601 text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"),
              bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let date = CalendarDate(String(decoding: bytes[0..<10], as: UTF8.self)),
              let hours = parseDigits(bytes[11..<13]), hours < 24,
              let minutes = parseDigits(bytes[14..<16]), minutes < 60,
              let seconds = parseDigits(bytes[17..<19]), seconds < 60
        else { return nil }
        var millis = 0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count == 24,
                  let fraction = parseDigits(bytes[20..<23]) else { return nil }
            millis = fraction
        } else if bytes.count != 20 {
            return nil
        }
        let dayMillis = Int64(date.daysSince1970) * 86_400_000
        self.millisecondsSince1970 = dayMillis + Int64(hours * 3_600_000 + minutes * 60_000 + seconds * 1000 + millis)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected an ISO-8601 UTC timestamp like 2026-03-02T09:30:00.000Z")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A calendar day without a time zone, written `YYYY-MM-DD` (proleptic Gregorian).
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public var daysSince1970: Int

    public init(daysSince1970: Int) { self.daysSince1970 = daysSince1970 }

    /// The date of a year, month (1–12) and day (1–31); nil when the day does not exist.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= CalendarDate.daysIn(month: month, year: year) else { return nil }
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        self.daysSince1970 = era * 146_097 + doe - 719_468
    }

    /// Parses `YYYY-MM-DD`.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = parseDigits(bytes[0..<4]), let month = parseDigits(bytes[5..<7]),
              let day = parseDigits(bytes[8..<10]) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public var components: (year: Int, month: Int, day: Int) {
        // Howard Hinnant's civil_from_days.
        let z = daysSince1970 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public var year: Int { components.year }
    public var month: Int { components.month }
    public var day: Int { components.day }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var isoWeekday: Int {
        let weekday = (daysSince1970 + 3) % 7 // 1970-01-01 was a Thursday (index 3 from Monday).
        return (weekday < 0 ? weekday + 7 : weekday) + 1
    }

    public func adding(days: Int) -> CalendarDate { CalendarDate(daysSince1970: daysSince1970 + days) }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool { lhs.daysSince1970 < rhs.daysSince1970 }

    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(10)
        appendISO8601(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DD` (years 0–9999, the range the protocol uses).
    func appendISO8601(to bytes: inout [UInt8]) {
        let (year, month, day) = components
        bytes.appendDigits(UInt64(max(0, year)), width: 4)
        bytes.append(UInt8(ascii: "-"))
        bytes.appendDigits(UInt64(month), width: 2)
        bytes.append(UInt8(ascii: "-"))
        bytes.appendDigits(UInt64(day), width: 2)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let value = CalendarDate(try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a date like 2026-03-02")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : -((-a + b - 1) / b)
}

private func parseDigits(_ bytes: ArraySlice<UInt8>) -> Int? {
    var value = 0
    for byte in bytes {
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + Int(byte - UInt8(ascii: "0"))
    }
    return bytes.isEmpty ? nil : value
}
