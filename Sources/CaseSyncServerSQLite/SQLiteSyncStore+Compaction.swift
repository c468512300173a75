import CaseSyncProtocol
import CaseSyncServer
import GRDB

extension SQLiteSyncStore {
    /// Drops tombstones older than the retention horizon. A client whose cursor is older than the
    /// newest dropped tombstone can no longer learn of that deletion incrementally, so its next pull is
    /// answered with `resync_required` and it pulls its whole scope again (keeping its outbox).
    public func compact(retentionDays: Int) async throws -> CompactionReport {
        let now = environment.now()
        let horizon = try CompactionPlan.horizon(retentionDays: retentionDays, now: now)
        return try await writer.write { db in
            let plan = CompactionPlan(
                try Row.fetchAll(
                    db,
                    sql: "SELECT seq, citizen_id, authority_id, length(body) AS bytes FROM records WHERE deleted = 1 AND changed_at < ?",
                    arguments: [horizon]
                ).map { .init(seq: $0["seq"], citizenId: $0["citizen_id"], authorityId: $0["authority_id"], bytes: $0["bytes"] ?? 0) })
            for (scope, through) in plan.horizons {
                try db.execute(
                    sql: """
                        INSERT INTO scope_horizons (scope, compacted_through) VALUES (?, ?)
                        ON CONFLICT(scope) DO UPDATE SET compacted_through = MAX(compacted_through, excluded.compacted_through)
                        """,
                    arguments: [scope, through])
            }
            // The citizens' storage counts tombstones until they are gone.
            for (scope, bytes) in plan.freed {
                try db.execute(sql: "UPDATE scope_digests SET bytes = bytes - ? WHERE scope = ?", arguments: [bytes, scope])
            }
            try db.execute(sql: "DELETE FROM records WHERE deleted = 1 AND changed_at < ?", arguments: [horizon])
            if let newest = plan.newest {
                try db.execute(
                    sql: "UPDATE server_state SET compacted_through = MAX(compacted_through, ?)", arguments: [newest])
            }
            let through = try Int64.fetchOne(db, sql: "SELECT compacted_through FROM server_state") ?? 0
            let report = CompactionReport(tombstonesRemoved: plan.count, compactedThrough: through)
            try Self.appendAudit([AuditRules.compaction(report, retentionDays: retentionDays, at: now)], db)
            return report
        }
    }

    /// The citizen scopes whose running byte count (the storage limit's) differs from the bytes their
    /// records hold: none, unless something wrote records behind the writer's back. The simulation
    /// checks it after every schedule.
    public func checkReady() async throws {
        do {
            try await writer.read { db in try db.execute(sql: "SELECT 1 FROM server_state") }
        } catch {
            throw ServiceError(.unavailable, "the database cannot be read")
        }
    }

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
