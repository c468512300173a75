import Foundation

extension PullPage where Record == Data {
    /// The same page from typed values (records encoded as the server stores them).
    public init(_ response: PullResponse) {
        self.init(
            changes: response.changes.map {
                Change(
                    seq: $0.seq, type: $0.type, id: $0.id, caseId: $0.caseId, version: $0.version, deleted: $0.deleted,
                    data: $0.data.map { Data($0.jsonBytes) })
            },
            cursor: response.cursor, hasMore: response.hasMore, checksum: response.checksum)
    }

    /// The typed form (decodes every record; one of a type this build does not know stays bytes).
    public func decoded() throws -> PullResponse {
        PullResponse(
            changes: try changes.map { change in
                PullResponse.Change(
                    seq: change.seq, type: change.type, id: change.id, caseId: change.caseId, version: change.version,
                    deleted: change.deleted, data: try change.data.map { try RecordData(type: change.type, json: $0) })
            },
            cursor: cursor, hasMore: hasMore, checksum: checksum)
    }

    /// Reads a pull answer without decoding the records (unknown properties are skipped).
    public init(json: some Collection<UInt8>) throws {
        self = try JSONReader.read(Array(json)) { try $0.page() }
    }
}

/// Reading pull answers: walks the envelope, and for each change's `data` only finds where the value
/// starts and ends.
extension JSONReader {

    mutating func page() throws -> RawPullResponse {
        var changes: [RawPullResponse.Change] = []
        var cursor: String?
        var hasMore: Bool?
        var checksum: StateChecksum?
        try object { parser, key in
            switch key {
            case "changes":
                try parser.array { parser in changes.append(try parser.change()) }
            case "cursor": cursor = try parser.string()
            case "hasMore": hasMore = try parser.bool()
            case "checksum":
                if try parser.null() { break }
                var count: Int64?
                var digest: String?
                try parser.object { parser, key in
                    switch key {
                    case "count": count = try parser.integer()
                    case "digest": digest = try parser.string()
                    default: try parser.skipValue()
                    }
                }
                guard let count else { throw parser.missing("count") }
                guard let digest else { throw parser.missing("digest") }
                checksum = StateChecksum(count: count, digest: digest)
            default: try parser.skipValue()
            }
        }
        guard let cursor else { throw missing("cursor") }
        guard let hasMore else { throw missing("hasMore") }
        return RawPullResponse(changes: changes, cursor: cursor, hasMore: hasMore, checksum: checksum)
    }

    mutating func change() throws -> RawPullResponse.Change {
        var seq: Int64?, type: RecordType?, id: String?, caseId: String?, version: Int64?, deleted: Bool?
        var data: Data?
        try object { parser, key in
            switch key {
            case "seq": seq = try parser.integer()
            case "type":
                type = try parser.name(RecordType.self)
            case "id": id = try parser.string()
            case "caseId": caseId = try parser.string()
            case "version": version = try parser.integer()
            case "deleted": deleted = try parser.bool()
            case "data":
                if try parser.null() { break }
                parser.skipSpace()
                let start = parser.index
                try parser.skipValue()
                data = Data(parser.bytes[start..<parser.index])
            default: try parser.skipValue()
            }
        }
        guard let seq else { throw missing("seq") }
        guard let type else { throw missing("type") }
        guard let id else { throw missing("id") }
        guard let version else { throw missing("version") }
        return RawPullResponse.Change(
            seq: seq, type: type, id: id, caseId: caseId ?? id, version: version, deleted: deleted ?? false, data: data)
    }
}
