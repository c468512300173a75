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
        // Cursors below the new horizons pull again: every waiting device asks.
        defer { changes.changedEverything() }
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

    /// Disposes of cases closed or withdrawn and unchanged for `closedCaseDays`, in one transaction
    /// (`DisposalPlan`).
    public func dispose(closedCaseDays: Int) async throws -> DisposalReport {
        let now = environment.now()
        let horizon = try DisposalPlan.horizon(closedCaseDays: closedCaseDays, now: now)
        let (report, changedScopes) = try await writer.write { db in
            let final = DisposalPlan.finalStatuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            let plan = DisposalPlan(
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT type, id, case_id, citizen_id, authority_id, version, deleted, COALESCE(length(body), 0), changed_at,
                               CASE WHEN type = 'case' THEN json_extract(CAST(body AS TEXT), '$.status') END
                        FROM records WHERE case_id IN (
                            SELECT id FROM records WHERE type = 'case' AND deleted = 0 AND changed_at < ?
                            AND json_extract(CAST(body AS TEXT), '$.status') IN (\(final)))
                        """,
                    arguments: [horizon]
                ).map { row in
                    DisposalPlan.Stored(
                        RecordRow(
                            type: RecordType(rawValue: row[0]) ?? .case, id: row[1], caseId: row[2], citizenId: row[3], authorityId: row[4],
                            version: row[5], deleted: row[6]),
                        bytes: row[7], changedAt: row[8], status: row[9])
                },
                horizon: horizon)
            // The files of the cases disposed of go too (those nothing else refers to).
            try Self.queueSweeps(ofCases: plan.caseIds, db)
            try Self.tombstone(plan.tombstones, keepingCitizen: true, now: now, db)
            for id in plan.cleared { try db.execute(sql: "UPDATE records SET body = NULL WHERE id = ?", arguments: [id]) }
            try Self.addToScopes(plan.scopes, db)
            try Self.appendAudit(plan.entries(closedCaseDays: closedCaseDays, at: now), db)
            return (plan.report, Array(plan.scopes.keys))
        }
        changes.changed(changedScopes)
        // The log still holds the disposed pages: copied into the file (where they are overwritten) and emptied.
        if report.cases > 0 { _ = try? await writer.writeWithoutTransaction { try $0.checkpoint(.truncate) } }
        try await BlobSweep(store: self).sweepQueued()
        return report
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
