import CaseSyncProtocol
import GRDB

/// What a compaction removed.
public struct CompactionReport: Sendable, Hashable {
    /// Tombstones dropped.
    public var tombstonesRemoved: Int
    /// The newest change compaction has dropped so far; a cursor below it may have to pull from the
    /// start (`resync_required`) if its own scope lost a tombstone.
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
            let dropped = try Row.fetchAll(
                db, sql: "SELECT seq, citizen_id, authority_id, length(body) AS bytes FROM records WHERE deleted = 1 AND changed_at < ?",
                arguments: [horizon])
            var horizons: [String: Int64] = [:]
            var freed: [String: Int64] = [:]
            for row in dropped {
                let seq: Int64 = row["seq"]
                if let citizen = row["citizen_id"] as String? {
                    horizons[ScopeKey.citizen(citizen)] = max(horizons[ScopeKey.citizen(citizen)] ?? 0, seq)
                    freed[ScopeKey.citizen(citizen), default: 0] += row["bytes"] as Int64
                }
                if let authority = row["authority_id"] as String? {
                    horizons[ScopeKey.authority(authority)] = max(horizons[ScopeKey.authority(authority)] ?? 0, seq)
                }
            }
            for (scope, through) in horizons {
                try db.execute(
                    sql: """
                        INSERT INTO scope_horizons (scope, compacted_through) VALUES (?, ?)
                        ON CONFLICT(scope) DO UPDATE SET compacted_through = MAX(compacted_through, excluded.compacted_through)
                        """,
                    arguments: [scope, through])
            }
            // The citizens' storage counts tombstones until they are gone.
            for (scope, bytes) in freed {
                try db.execute(sql: "UPDATE scope_digests SET bytes = bytes - ? WHERE scope = ?", arguments: [bytes, scope])
            }
            try db.execute(sql: "DELETE FROM records WHERE deleted = 1 AND changed_at < ?", arguments: [horizon])
            if let newest = dropped.map({ $0["seq"] as Int64 }).max() {
                try db.execute(
                    sql: "UPDATE server_state SET compacted_through = MAX(compacted_through, ?)", arguments: [newest])
            }
            let through = try Int64.fetchOne(db, sql: "SELECT compacted_through FROM server_state") ?? 0
            return CompactionReport(tombstonesRemoved: dropped.count, compactedThrough: through)
        }
    }
}

extension SQLiteSyncStore {
    /// The citizen scopes whose running byte count (the storage limit's) differs from the bytes their
    /// records hold: none, unless something wrote records behind the writer's back. The simulation
    /// checks it after every schedule.
    public func storageCountMismatches() async throws -> [String] {
        try await writer.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT d.scope FROM scope_digests d
                    WHERE d.scope LIKE 'c:%' AND d.bytes != (
                        SELECT COALESCE(SUM(length(body)), 0) FROM records WHERE citizen_id = substr(d.scope, 3))
                    """)
        }
    }
}
