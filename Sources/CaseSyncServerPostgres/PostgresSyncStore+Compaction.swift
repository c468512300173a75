import CaseSyncProtocol
import CaseSyncServer
import PostgresNIO

extension PostgresSyncStore {
    /// Drops tombstones older than the retention horizon (see `SQLiteSyncStore.compact`). It takes the
    /// change feed's row first, so no push writes while it runs.
    public func compact(retentionDays: Int) async throws -> CompactionReport {
        let now = environment.now()
        let horizon = try CompactionPlan.horizon(retentionDays: retentionDays, now: now)
        let logger = logger
        return try await transaction { connection in
            try await connection.query("SELECT last_seq FROM change_feed WHERE id = 1 FOR UPDATE", logger: logger)
            var tombstones: [CompactionPlan.Tombstone] = []
            let rows = try await connection.query(
                """
                DELETE FROM records WHERE deleted AND changed_at < \(horizon)
                RETURNING seq, citizen_id, authority_id, COALESCE(length(body), 0)
                """, logger: logger)
            for try await (seq, citizen, authority, bytes) in rows.decode((Int64, String?, String?, Int32).self) {
                tombstones.append(.init(seq: seq, citizenId: citizen, authorityId: authority, bytes: Int64(bytes)))
            }
            let plan = CompactionPlan(tombstones)
            if !plan.horizons.isEmpty {
                let horizons = plan.horizons.sorted { $0.key < $1.key }
                try await connection.query(
                    """
                    INSERT INTO scope_horizons (scope, compacted_through)
                    SELECT * FROM UNNEST(\(horizons.map(\.key))::TEXT[], \(horizons.map(\.value))::BIGINT[])
                    ON CONFLICT (scope) DO UPDATE
                        SET compacted_through = GREATEST(scope_horizons.compacted_through, excluded.compacted_through)
                    """, logger: logger)
            }
            for (scope, bytes) in plan.freed.sorted(by: { $0.key < $1.key }) {
                try await connection.query("UPDATE scope_digests SET bytes = bytes - \(bytes) WHERE scope = \(scope)", logger: logger)
            }
            var through: Int64 = 0
            let feed = try await connection.query(
                """
                UPDATE change_feed SET compacted_through = GREATEST(compacted_through, \(plan.newest ?? 0)) WHERE id = 1
                RETURNING compacted_through
                """, logger: logger)
            for try await value in feed.decode(Int64.self) { through = value }
            // Scopes' latest changes and horizons moved: every instance forgets what it knew.
            try await connection.query("SELECT pg_notify(\(unescaped: ScopeWatch.channel), '*')", logger: logger)
            let report = CompactionReport(tombstonesRemoved: plan.count, compactedThrough: through)
            try await Self.appendAudit([AuditRules.compaction(report, retentionDays: retentionDays, at: now)], connection, logger: logger)
            return report
        }
    }

    /// Disposes of cases closed or withdrawn and unchanged for `closedCaseDays`, in one transaction
    /// (`DisposalPlan`). The cases' rows are locked first, as a push on one locks it; everything of them is
    /// then read by a statement that sees what such a push committed.
    public func dispose(closedCaseDays: Int) async throws -> DisposalReport {
        let (logger, now) = (logger, environment.now())
        let horizon = try DisposalPlan.horizon(closedCaseDays: closedCaseDays, now: now)
        let final = DisposalPlan.finalStatuses.map(\.rawValue)
        let report = try await transaction { connection in
            var cases: [String] = []
            for try await id in try await connection.query(
                """
                SELECT id FROM records WHERE type = 'case' AND NOT deleted AND changed_at < \(horizon)
                    AND convert_from(body, 'UTF8')::jsonb ->> 'status' = ANY(\(final))
                ORDER BY id FOR UPDATE
                """, logger: logger
            ).decode(String.self) {
                cases.append(id)
            }
            guard !cases.isEmpty else { return DisposalReport(cases: 0, records: 0) }
            var stored: [DisposalPlan.Stored] = []
            let rows = try await connection.query(
                """
                SELECT type, id, case_id, citizen_id, authority_id, version, deleted, COALESCE(length(body), 0), changed_at,
                       CASE WHEN type = 'case' THEN convert_from(body, 'UTF8')::jsonb ->> 'status' END
                FROM records WHERE case_id = ANY(\(cases)) ORDER BY id FOR UPDATE
                """, logger: logger)
            for try await row in rows.decode((String, String, String, String?, String?, Int64, Bool, Int32, Int64, String?).self) {
                let record = RecordRow(
                    type: RecordType(rawValue: row.0) ?? .case, id: row.1, caseId: row.2, citizenId: row.3, authorityId: row.4,
                    version: row.5, deleted: row.6)
                stored.append(.init(record, bytes: Int64(row.7), changedAt: row.8, status: row.9))
            }
            let plan = DisposalPlan(stored, horizon: horizon)
            // The files of the cases disposed of go too (those nothing else refers to).
            try await Self.queueSweeps(ofCases: plan.caseIds, connection, logger: logger)
            if !plan.cleared.isEmpty {
                try await connection.query("UPDATE records SET body = NULL WHERE id = ANY(\(plan.cleared))", logger: logger)
            }
            try await Self.appendAudit(plan.entries(closedCaseDays: closedCaseDays, at: now), connection, logger: logger)
            try await Self.tombstone(plan.tombstones, keepingCitizen: true, now: now, connection, logger: logger)
            try await Self.addToScopes(plan.scopes, connection, logger: logger)
            return plan.report
        }
        try await BlobSweep(store: self).sweepQueued()
        return report
    }

    /// After the database was restored (pg_restore, a point-in-time recovery): see RestoreRules. Every
    /// instance forgets what it knew of the scopes.
    public func markRestored() async throws -> Int64 {
        let (logger, now) = (logger, environment.now())
        return try await transaction { connection in
            var last: Int64 = 0
            for try await value in try await connection.query("SELECT last_seq FROM change_feed WHERE id = 1 FOR UPDATE", logger: logger)
                .decode(Int64.self)
            {
                last = value
            }
            let floor = RestoreRules.floor(after: last)
            // Every record moves above the floor, in its order: a pull from the start then never hands out
            // a cursor below it (which would be refused on its next page).
            try await connection.query("UPDATE records SET seq = seq + \(floor)", logger: logger)
            try await connection.query(
                "UPDATE change_feed SET last_seq = \(last + floor), restored_floor = \(floor) WHERE id = 1", logger: logger)
            try await connection.query("UPDATE devices SET gap_allowed = TRUE", logger: logger)
            try await Self.appendAudit([RestoreRules.entry(floor: floor, at: now)], connection, logger: logger)
            try await connection.query("SELECT pg_notify(\(unescaped: ScopeWatch.channel), '*')", logger: logger)
            return floor
        }
    }

    /// Asks PostgreSQL for one row through the pool, for at most two seconds.
    public func checkReady() async throws {
        let (client, logger) = (client, logger)
        let answered = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    for try await _ in try await client.query("SELECT 1", logger: logger).decode(Int32.self) {}
                    return true
                } catch {
                    return false
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard answered else { throw ServiceError(.unavailable, "the database does not answer") }
    }

    /// The citizen scopes whose running byte count differs from the bytes their records hold.
    public func storageCountMismatches() async throws -> [String] {
        var scopes: [String] = []
        let rows = try await client.query(
            """
            SELECT d.scope FROM scope_digests d
            WHERE d.scope LIKE 'c:%' AND d.bytes != (
                SELECT COALESCE(SUM(length(body)), 0) FROM records WHERE citizen_id = substr(d.scope, 3))
            """, logger: logger)
        for try await scope in rows.decode(String.self) { scopes.append(scope) }
        return scopes
    }

    /// Creates the tables, or adds what newer versions need.
    public func migrate() async throws {
        try await PostgresSchema.migrate(client, logger: logger)
    }

    /// The migrations applied, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await PostgresSchema.applied(client, logger: logger)
    }
}
