import CaseSyncProtocol
import CaseSyncServer
import PostgresNIO

extension PostgresSyncStore {
    /// Erases a citizen in one transaction (`ErasurePlan`); every instance hears of the authorities' scopes
    /// that changed and forgets the citizen's devices.
    public func erase(accountId: String) async throws -> ErasureReport {
        let (logger, now) = (logger, environment.now())
        let (report, clients, uploads) = try await transaction { connection -> (ErasureReport, [String], [UploadKey]) in
            var role: String?
            for try await value in try await connection.query("SELECT role FROM accounts WHERE id = \(accountId) FOR UPDATE", logger: logger)
                .decode(String.self)
            {
                role = value
            }
            try ErasurePlan.checkCitizen(role: role)
            // Locks in the order pushes take them: her devices (a push of hers in flight commits first),
            // then her cases (an officer's push on one commits first); then everything of her cases is read
            // by a statement that sees what they committed.
            var clients: [String] = []
            for try await id in try await connection.query(
                "SELECT client_id FROM devices WHERE account_id = \(accountId) ORDER BY client_id FOR UPDATE", logger: logger
            ).decode(String.self) {
                clients.append(id)
            }
            var cases: [String] = []
            for try await id in try await connection.query(
                "SELECT id FROM records WHERE type = 'case' AND citizen_id = \(accountId) ORDER BY id FOR UPDATE", logger: logger
            ).decode(String.self) {
                cases.append(id)
            }
            var stored: [ErasurePlan.Stored] = []
            let rows = try await connection.query(
                """
                SELECT type, id, authority_id, version, deleted FROM records
                WHERE citizen_id = \(accountId) OR case_id = ANY(\(cases)) ORDER BY id FOR UPDATE
                """, logger: logger)
            for try await (type, id, authority, version, deleted) in rows.decode((String, String, String?, Int64, Bool).self) {
                stored.append(.init(type: RecordType(rawValue: type) ?? .case, id: id, authorityId: authority, version: version, deleted: deleted))
            }
            let plan = ErasurePlan(stored)
            // The citizen's files go too: those of their cases, and their uploads.
            try await Self.queueSweeps(ofCases: plan.caseIds, connection, logger: logger)
            var uploads: [UploadKey] = []
            for try await sha256 in try await connection.query(
                "DELETE FROM uploads WHERE account_id = \(accountId) RETURNING sha256", logger: logger
            ).decode(String.self) {
                uploads.append(UploadKey(accountId: accountId, sha256: sha256))
            }
            try await connection.query(
                "INSERT INTO blob_sweeps (sha256) SELECT * FROM UNNEST(\(uploads.map(\.sha256))::TEXT[]) ON CONFLICT DO NOTHING",
                logger: logger)
            if !plan.removed.isEmpty {
                try await connection.query("DELETE FROM records WHERE id = ANY(\(plan.removed))", logger: logger)
            }
            if !plan.cleared.isEmpty {
                try await connection.query("UPDATE records SET body = NULL, citizen_id = NULL WHERE id = ANY(\(plan.cleared))", logger: logger)
            }
            try await connection.query("DELETE FROM mutation_outcomes WHERE client_id = ANY(\(clients))", logger: logger)
            try await connection.query("DELETE FROM devices WHERE account_id = \(accountId)", logger: logger)
            try await connection.query("DELETE FROM login_codes WHERE account_id = \(accountId)", logger: logger)
            try await connection.query("DELETE FROM accounts WHERE id = \(accountId)", logger: logger)
            let scope = ScopeKey.citizen(accountId)
            try await connection.query("DELETE FROM scope_digests WHERE scope = \(scope)", logger: logger)
            try await connection.query("DELETE FROM scope_horizons WHERE scope = \(scope)", logger: logger)
            // The trail keeps only that the erasure happened.
            try await connection.query("SELECT set_config('casesync.erasing', 'on', true)", logger: logger)
            try await connection.query(
                "DELETE FROM audit_log WHERE account_id = \(accountId) OR case_id = ANY(\(plan.caseIds))", logger: logger)
            try await connection.query("SELECT set_config('casesync.erasing', 'off', true)", logger: logger)
            try await Self.appendAudit([plan.entry(accountId: accountId, at: now)], connection, logger: logger)
            if !clients.isEmpty {
                try await connection.query(
                    "SELECT pg_notify(\(unescaped: ScopeWatch.channel), \(ScopeWatch.revokedPayload(clients)))", logger: logger)
            }
            try await Self.tombstone(plan.tombstones, keepingCitizen: false, now: now, connection, logger: logger)
            try await Self.addToScopes(plan.scopes, connection, logger: logger)
            let records = plan.removed.count + plan.tombstones.count + plan.cleared.count
            return (ErasureReport(cases: plan.caseIds.count, records: records, devices: clients.count), clients, uploads)
        }
        sessions.evict(clientIds: Set(clients))
        for upload in uploads { try await blobs.discard(upload) }
        try await BlobSweep(store: self).sweepQueued()
        return report
    }

    /// Makes live records tombstones without content, at new places in the change sequence; without
    /// `keepingCitizen`, their citizen no longer sees them. Last in a transaction, as a push's records
    /// are: the places come from the feed's row, held to commit.
    static func tombstone(
        _ tombstones: [(id: String, version: Int64)], keepingCitizen: Bool, now: Timestamp, _ connection: PostgresConnection,
        logger: Logger
    ) async throws {
        guard !tombstones.isEmpty else { return }
        var end: Int64 = 0
        let count = Int64(tombstones.count)
        for try await value in try await connection.query(
            "UPDATE change_feed SET last_seq = last_seq + \(count) WHERE id = 1 RETURNING last_seq", logger: logger
        ).decode(Int64.self) {
            end = value
        }
        let seqs = (0..<count).map { end - count + 1 + $0 }
        try await connection.query(
            """
            UPDATE records r SET seq = t.seq, version = t.version, deleted = TRUE, body = NULL,
                changed_at = \(now.millisecondsSince1970)\(unescaped: keepingCitizen ? "" : ", citizen_id = NULL")
            FROM UNNEST(\(tombstones.map(\.id))::TEXT[], \(seqs)::BIGINT[], \(tombstones.map(\.version))::BIGINT[])
                AS t(id, seq, version)
            WHERE r.id = t.id
            """, logger: logger)
    }
}
