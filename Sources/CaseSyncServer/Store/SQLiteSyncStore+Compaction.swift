import CaseSyncProtocol
import GRDB

/// What a compaction removed.
public struct CompactionReport: Sendable, Hashable {
    /// Tombstones dropped.
    public var tombstonesRemoved: Int
    /// Cursors below this must pull from the start (`resync_required`).
    public var compactedThrough: Int64
}

extension SQLiteSyncStore {
    /// Drops tombstones older than the retention horizon. A client whose cursor is older than the
    /// newest dropped tombstone can no longer learn of that deletion incrementally, so its next pull is
    /// answered with `resync_required` and it pulls its whole scope again (keeping its outbox).
    public func compact(retentionDays: Int) async throws -> CompactionReport {
        guard retentionDays >= 0 else { throw ServiceError(.invalidRequest, "the retention must be zero days or more") }
        let horizon = environment.now().millisecondsSince1970 - Int64(retentionDays) * 86_400_000
        return try await writer.write { db in
            let newest = try Int64.fetchOne(
                db, sql: "SELECT MAX(seq) FROM records WHERE deleted = 1 AND changed_at < ?", arguments: [horizon])
            try db.execute(sql: "DELETE FROM records WHERE deleted = 1 AND changed_at < ?", arguments: [horizon])
            let removed = db.changesCount
            if let newest {
                try db.execute(
                    sql: "UPDATE server_state SET compacted_through = MAX(compacted_through, ?)", arguments: [newest])
            }
            let through = try Int64.fetchOne(db, sql: "SELECT compacted_through FROM server_state") ?? 0
            return CompactionReport(tombstonesRemoved: removed, compactedThrough: through)
        }
    }
}
