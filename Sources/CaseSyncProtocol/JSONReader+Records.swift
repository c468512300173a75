import Foundation

extension CaseRecord {
    /// Reads a case record as the server stores and sends it, without Foundation's decoder (a device
    /// reads every case it holds when it indexes them). Properties a later version adds are skipped.
    public init(json: Data) throws {
        self = try JSONReader.read(Array(json)) { try $0.caseRecord() }
    }
}

extension TimelineEvent {
    /// Reads a timeline event as the server stores and sends it (see `CaseRecord.init(json:)`).
    public init(json: Data) throws {
        self = try JSONReader.read(Array(json)) { try $0.timelineEvent() }
    }
}

extension JSONReader {
    /// A time in its wire form (ISO 8601, UTC, milliseconds).
    mutating func timestamp() throws -> Timestamp {
        guard let time = Timestamp(iso8601: try string()) else { throw fail("should be a time like 2026-03-02T09:30:00.000Z") }
        return time
    }

    mutating func caseRecord() throws -> CaseRecord {
        var id: String?, kind: CaseKind?, authorityId: String?, citizenId: String?, status: CaseStatus?
        var fields: [String: String]?, clocks: [String: HLCTimestamp]?, createdAt: Timestamp?, updatedAt: Timestamp?
        try object { reader, key in
            switch key {
            case "id": id = try reader.string()
            case "kind": kind = try reader.name(CaseKind.self)
            case "authorityId": authorityId = try reader.string()
            case "citizenId": citizenId = try reader.string()
            case "status": status = try reader.choice(CaseStatus.self)
            case "fields": fields = try reader.stringMap()
            case "clocks":
                var map: [String: HLCTimestamp] = [:]
                try reader.object { reader, field in map[field] = try reader.clock() }
                clocks = map
            case "createdAt": createdAt = try reader.timestamp()
            case "updatedAt": updatedAt = try reader.timestamp()
            default: try reader.skipValue()
            }
        }
        guard let id else { throw missing("id") }
        guard let kind else { throw missing("kind") }
        guard let authorityId else { throw missing("authorityId") }
        guard let citizenId else { throw missing("citizenId") }
        guard let status else { throw missing("status") }
        guard let fields else { throw missing("fields") }
        guard let clocks else { throw missing("clocks") }
        guard let createdAt else { throw missing("createdAt") }
        guard let updatedAt else { throw missing("updatedAt") }
        return CaseRecord(
            id: id, kind: kind, authorityId: authorityId, citizenId: citizenId, status: status, fields: fields, clocks: clocks,
            createdAt: createdAt, updatedAt: updatedAt)
    }

    mutating func timelineEvent() throws -> TimelineEvent {
        var id: String?, caseId: String?, type: TimelineEventType?, at: Timestamp?, actorRole: ActorRole?
        var actorName: String?, status: CaseStatus?, note: String?, weeks: Int?, consent: Bool?, effectiveDate: CalendarDate?
        try object { reader, key in
            switch key {
            case "id": id = try reader.string()
            case "caseId": caseId = try reader.string()
            case "type": type = try reader.name(TimelineEventType.self)
            case "at": at = try reader.timestamp()
            case "actorRole": actorRole = try reader.choice(ActorRole.self)
            case "actorName": actorName = try reader.optionalString()
            case "status": status = try reader.null() ? nil : reader.choice(CaseStatus.self)
            case "note": note = try reader.optionalString()
            case "weeks":
                guard !(try reader.null()) else { break }
                guard let value = Int(exactly: try reader.integer()) else { throw reader.fail("is out of range") }
                weeks = value
            case "consent": consent = try reader.null() ? nil : reader.bool()
            case "effectiveDate":
                guard !(try reader.null()) else { break }
                guard let date = CalendarDate(try reader.string()) else { throw reader.fail("should be a date like 2026-03-02") }
                effectiveDate = date
            default: try reader.skipValue()
            }
        }
        guard let id else { throw missing("id") }
        guard let caseId else { throw missing("caseId") }
        guard let type else { throw missing("type") }
        guard let at else { throw missing("at") }
        guard let actorRole else { throw missing("actorRole") }
        return TimelineEvent(
            id: id, caseId: caseId, type: type, at: at, actorRole: actorRole, actorName: actorName, status: status, note: note,
            weeks: weeks, consent: consent, effectiveDate: effectiveDate)
    }
}
