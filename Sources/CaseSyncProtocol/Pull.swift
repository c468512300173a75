import Foundation

/// The kinds of record a pull carries. Open (§3 "Evolution"): a pull may carry a type this build does
/// not know; a device keeps such records as they came and counts them in its checksum.
public struct RecordType: OpenName {
    public let rawValue: String
    public init(unchecked name: String) { rawValue = name }

    public static let `case` = RecordType(unchecked: "case")
    public static let event = RecordType(unchecked: "event")
    public static let message = RecordType(unchecked: "message")
    public static let conflict = RecordType(unchecked: "conflict")
    public static let attachment = RecordType(unchecked: "attachment")
    public static let known: [RecordType] = [.case, .event, .message, .conflict, .attachment]
}

/// A record's current state as a pull returns it.
public enum RecordData: Sendable, Hashable {
    case `case`(CaseRecord)
    case event(TimelineEvent)
    case message(CaseMessage)
    case conflict(ConflictRecord)
    case attachment(AttachmentRecord)
    /// A record of a type this build does not know, as the server sent it.
    case unknown(RecordType, json: Data)

    public var type: RecordType {
        switch self {
        case .case: .case
        case .event: .event
        case .message: .message
        case .conflict: .conflict
        case .attachment: .attachment
        case .unknown(let type, _): type
        }
    }
}

/// One page of a pull: what changed in the caller's scope after the cursor. One type serves both forms
/// of a record: decoded (`PullResponse`, `Record` = `RecordData`) and as the JSON bytes the server stored
/// and the client stores (`RawPullResponse`, `Record` = `Data`), so neither side decodes records on the
/// hot path while the envelope exists once.
public struct PullPage<Record: Sendable & Hashable>: Sendable, Hashable {
    /// One changed record: its place in the server's sequence, its identity and version, and either its
    /// current data or, when deleted, nothing (a tombstone). On the wire `caseId` is left out when it
    /// equals `id` (a case record) and `deleted` when it is false.
    public struct Change: Sendable, Hashable {
        public var seq: Int64
        public var type: RecordType
        public var id: String
        public var caseId: String
        public var version: Int64
        public var deleted: Bool
        /// The record; nil for a tombstone.
        public var data: Record?

        public init(seq: Int64, type: RecordType, id: String, caseId: String, version: Int64, deleted: Bool, data: Record?) {
            self.seq = seq
            self.type = type
            self.id = id
            self.caseId = caseId
            self.version = version
            self.deleted = deleted
            self.data = data
        }
    }

    public var changes: [Change]
    /// Opaque; pass it back as `cursor` on the next pull.
    public var cursor: String
    /// True when more changes follow; pull again with the new cursor.
    public var hasMore: Bool
    /// On the last page only: the checksum of everything the caller can see.
    public var checksum: StateChecksum?

    public init(changes: [Change], cursor: String, hasMore: Bool, checksum: StateChecksum?) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.checksum = checksum
    }
}

/// `GET /sync/pull?cursor=…&limit=…`, every record decoded.
public typealias PullResponse = PullPage<RecordData>
/// One changed record, decoded.
public typealias SyncChange = PullResponse.Change
/// `GET /sync/pull`, each record's JSON kept as bytes: what the server reads from its store and writes to
/// the wire, and what a client stores.
public typealias RawPullResponse = PullPage<Data>

extension PullPage: Codable where Record == RecordData {}

extension PullPage.Change: Codable where Record == RecordData {
    private enum CodingKeys: String, CodingKey { case seq, type, id, caseId, version, deleted, data }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seq = try container.decode(Int64.self, forKey: .seq)
        type = try container.decode(RecordType.self, forKey: .type)
        id = try container.decode(String.self, forKey: .id)
        caseId = try container.decodeIfPresent(String.self, forKey: .caseId) ?? id
        version = try container.decode(Int64.self, forKey: .version)
        deleted = try container.decodeIfPresent(Bool.self, forKey: .deleted) ?? false
        let dataIsNil = try !container.contains(.data) || container.decodeNil(forKey: .data)
        if deleted || dataIsNil {
            data = nil
            return
        }
        switch type {
        case .case: data = .case(try container.decode(CaseRecord.self, forKey: .data))
        case .event: data = .event(try container.decode(TimelineEvent.self, forKey: .data))
        case .message: data = .message(try container.decode(CaseMessage.self, forKey: .data))
        case .conflict: data = .conflict(try container.decode(ConflictRecord.self, forKey: .data))
        case .attachment: data = .attachment(try container.decode(AttachmentRecord.self, forKey: .data))
        default: data = .unknown(type, json: try WireCoding.encoder().encode(try container.decode(AnyJSON.self, forKey: .data)))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seq, forKey: .seq)
        try container.encode(type, forKey: .type)
        try container.encode(id, forKey: .id)
        if caseId != id { try container.encode(caseId, forKey: .caseId) }
        try container.encode(version, forKey: .version)
        if deleted { try container.encode(true, forKey: .deleted) }
        switch data {
        case .case(let record): try container.encode(record, forKey: .data)
        case .event(let event): try container.encode(event, forKey: .data)
        case .message(let message): try container.encode(message, forKey: .data)
        case .conflict(let conflict): try container.encode(conflict, forKey: .data)
        case .attachment(let attachment): try container.encode(attachment, forKey: .data)
        case .unknown(_, let json): try container.encode(try WireCoding.decode(AnyJSON.self, from: json), forKey: .data)
        case nil: try container.encodeNil(forKey: .data)
        }
    }
}


/// Any JSON value, for carrying a record of a type this build does not know through `Codable`.
private enum AnyJSON: Codable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([AnyJSON])
    case object([String: AnyJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([AnyJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: AnyJSON].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension RecordData {
    /// Decodes a record of `type` from its JSON; a type this build does not know is kept as its bytes.
    public init(type: RecordType, json: Data) throws {
        switch type {
        case .case: self = .case(try CaseRecord(json: json))
        case .event: self = .event(try TimelineEvent(json: json))
        case .message: self = .message(try WireCoding.decode(CaseMessage.self, from: json))
        case .conflict: self = .conflict(try WireCoding.decode(ConflictRecord.self, from: json))
        case .attachment: self = .attachment(try WireCoding.decode(AttachmentRecord.self, from: json))
        default: self = .unknown(type, json: json)
        }
    }
}
