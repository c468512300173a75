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

/// One changed record: its place in the server's sequence, its identity and version, and either its
/// current data or, when deleted, nothing (a tombstone). On the wire `caseId` is left out when it equals
/// `id` (a case record) and `deleted` when it is false.
public struct SyncChange: Codable, Sendable, Hashable {
    public var seq: Int64
    public var type: RecordType
    public var id: String
    public var caseId: String
    public var version: Int64
    public var deleted: Bool
    public var data: RecordData?

    public init(seq: Int64, type: RecordType, id: String, caseId: String, version: Int64, deleted: Bool, data: RecordData?) {
        self.seq = seq
        self.type = type
        self.id = id
        self.caseId = caseId
        self.version = version
        self.deleted = deleted
        self.data = data
    }

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

/// `GET /sync/pull?cursor=…&limit=…`: what changed in the caller's scope after the cursor.
public struct PullResponse: Codable, Sendable, Hashable {
    public var changes: [SyncChange]
    /// Opaque; pass it back as `cursor` on the next pull.
    public var cursor: String
    /// True when more changes follow; pull again with the new cursor.
    public var hasMore: Bool
    /// On the last page only: the checksum of everything the caller can see.
    public var checksum: StateChecksum?

    public init(changes: [SyncChange], cursor: String, hasMore: Bool, checksum: StateChecksum?) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.checksum = checksum
    }
}
