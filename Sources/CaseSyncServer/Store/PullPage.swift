import CaseSyncProtocol
import Foundation

/// A pull answer as the store reads it: each record's stored JSON kept as it is, so a page is written
/// to the wire without decoding and re-encoding every record.
public struct PullPage: Sendable {
    public struct Change: Sendable {
        public var seq: Int64
        public var type: RecordType
        public var id: String
        public var caseId: String
        public var version: Int64
        public var deleted: Bool
        /// The record's JSON; nil for a tombstone.
        public var data: Data?
    }

    public var changes: [Change]
    public var cursor: String
    public var hasMore: Bool
    public var checksum: StateChecksum?

    /// The page as protocol JSON (the shape of `PullResponse`, keys sorted).
    public func json() -> [UInt8] {
        var writer = JSONWriter(capacity: 256 + changes.reduce(0) { $0 + ($1.data?.count ?? 0) + 160 })
        writer.beginObject()
        writer.key("changes")
        writer.beginArray()
        for change in changes {
            writer.beginObject()
            writer.key("caseId"); writer.string(change.caseId)
            writer.key("data")
            if let data = change.data, !change.deleted { writer.raw(data) } else { writer.null() }
            writer.key("deleted"); writer.bool(change.deleted)
            writer.key("id"); writer.string(change.id)
            writer.key("seq"); writer.int(change.seq)
            writer.key("type"); writer.string(change.type.rawValue)
            writer.key("version"); writer.int(change.version)
            writer.endObject()
        }
        writer.endArray()
        if let checksum { writer.key("checksum"); checksum.write(to: &writer) }
        writer.key("cursor"); writer.string(cursor)
        writer.key("hasMore"); writer.bool(hasMore)
        writer.endObject()
        return writer.bytes
    }

    /// The page as typed values (for the in-process transport).
    public func decoded() throws -> PullResponse {
        try WireCoding.decoder().decode(PullResponse.self, from: Data(json()))
    }
}
