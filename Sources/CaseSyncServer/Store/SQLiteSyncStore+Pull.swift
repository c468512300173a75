import CaseSyncProtocol
import Foundation
import GRDB

extension SQLiteSyncStore {
    public func pull(after cursor: Int64, limit: Int, session: Session) async throws -> PullResponse {
        let (column, scope) = Self.scopeFilter(session.account)
        return try await writer.read { db in
            // Only the caller's own scope is consulted, so neither the cursor nor these checks tell
            // anything about other people's cases. A record's seq only grows and it never leaves its
            // scope, so a genuine cursor is never past the scope's latest change (or its compaction
            // horizon, which a cursor may reach once the tombstones below it are gone).
            let horizon = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT compacted_through FROM scope_horizons WHERE scope = ?"),
                arguments: [scope.key]) ?? 0
            let latest = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT MAX(seq) FROM records WHERE \(column) = ?"), arguments: [scope.value]) ?? 0
            guard cursor <= max(latest, horizon) else {
                throw ServiceError(
                    .resyncRequired, "this cursor is not from this server's history; pull again from the start")
            }
            guard cursor == 0 || cursor >= horizon else {
                throw ServiceError(
                    .resyncRequired, "deletions older than this cursor were compacted away; pull again from the start",
                    details: ["compactedThrough": String(horizon)])
            }
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT seq, type, id, case_id, version, deleted, body FROM records WHERE \(column) = ? AND seq > ? ORDER BY seq LIMIT ?"),
                arguments: [scope.value, cursor, limit + 1])
            let hasMore = rows.count > limit
            let decoder = WireCoding.decoder()
            let changes = try rows.prefix(limit).map { try Self.change(from: $0, decoder: decoder) }
            // The last page moves the cursor past the compaction horizon, so the next pull is incremental.
            let newCursor = hasMore ? changes.last!.seq : max(changes.last?.seq ?? cursor, horizon)
            var checksum: StateChecksum?
            if !hasMore {
                let digest = try Row.fetchOne(db, sql: "SELECT count, sum FROM scope_digests WHERE scope = ?", arguments: [scope.key])
                checksum = StateChecksum(
                    count: digest?["count"] ?? 0, sum: UInt64(bitPattern: digest?["sum"] as Int64? ?? 0))
            }
            return PullResponse(changes: changes, cursor: String(newCursor), hasMore: hasMore, checksum: checksum)
        }
    }

    /// The column and value that select a session's scope, and the scope's digest key.
    static func scopeFilter(_ account: AccountInfo) -> (column: String, scope: (value: String, key: String)) {
        switch account.role {
        case .citizen: ("citizen_id", (account.id, RecordWriter.scope(citizen: account.id)))
        case .officer:
            ("authority_id", (account.authorityId ?? "", RecordWriter.scope(authority: account.authorityId ?? "")))
        }
    }

    static func change(from row: Row, decoder: JSONDecoder) throws -> SyncChange {
        guard let type = RecordType(rawValue: row["type"]) else {
            throw ServiceError(.internalError, "a stored record has an unknown type")
        }
        let deleted: Bool = row["deleted"]
        var data: RecordData?
        if !deleted {
            let body: Data = row["body"]
            switch type {
            case .case: data = .case(try decoder.decode(CaseRecord.self, from: body))
            case .event: data = .event(try decoder.decode(TimelineEvent.self, from: body))
            case .message: data = .message(try decoder.decode(CaseMessage.self, from: body))
            case .conflict: data = .conflict(try decoder.decode(ConflictRecord.self, from: body))
            }
        }
        return SyncChange(
            seq: row["seq"], type: type, id: row["id"], caseId: row["case_id"], version: row["version"], deleted: deleted,
            data: data)
    }
}
