import Foundation

/// The kinds of record a pull carries.
public enum RecordType: String, Codable, Sendable, Hashable, CaseIterable {
    case `case`
    case event
    case message
    case conflict
}

/// A record's current state as a pull returns it.
public enum RecordData: Sendable, Hashable {
    case `case`(CaseRecord)
    case event(TimelineEvent)
    case message(CaseMessage)
    case conflict(ConflictRecord)

    public var type: RecordType {
        switch self {
        case .case: .case
        case .event: .event
        case .message: .message
        case .conflict: .conflict
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
        case nil: try container.encodeNil(forKey: .data)
        }
    }
}

