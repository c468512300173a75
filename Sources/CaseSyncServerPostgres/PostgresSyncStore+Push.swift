import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import Foundation
import Logging
import PostgresNIO

/// A push on PostgreSQL, with other instances pushing at the same time. In one transaction:
/// 1. the device's row is locked: the same push sent to two instances is applied once, the second
///    waits and then answers from the stored outcomes; a revoked device is refused here;
/// 2. the records the push reads are locked in id order (cases, conflicts), so concurrent pushes to
///    one case apply one after the other, never over each other's state;
/// 3. `PushPlanner` decides everything else without the database;
/// 4. the writes take their places in the change feed last, from the feed's one row, whose lock is
///    held until commit: a push that took later places commits later, so a pull never passes a place
///    whose change is not yet visible (PROTOCOL.md §9, "A gap-free feed with several writers").
extension PostgresSyncStore {
    public func push(_ request: PushRequest, session: Session) async throws -> PushResponse {
        let planner = try PushPlanner(request, session: session, limits: limits, environment: environment)
        let (logger, insidePush) = (logger, environment.insidePush)
        return try await transaction { connection in
            var (stored, gapAllowed): (Int64, Bool) = (0, false)
            var state: String?
            let device = try await connection.query(
                """
                SELECT last_mutation_id, \(unescaped: SessionRules.deviceState), gap_allowed
                FROM devices WHERE client_id = \(session.clientId) FOR UPDATE
                """, logger: logger)
            for try await (value, standing, gap) in device.decode((Int64, String, Bool).self) { (stored, state, gapAllowed) = (value, standing, gap) }
            // Read under the row's lock, which a revocation takes too: one committed before is never outrun.
            try SessionRules.checkActive(state)
            let last = planner.lastMutationId(stored: stored, gapAllowed: gapAllowed)
            let reads = try planner.reads(lastMutationId: last)
            let snapshot = try await Self.load(reads, clientId: session.clientId, connection, logger: logger)
            await insidePush(.afterReads)
            let plan = try planner.plan(lastMutationId: last, snapshot: snapshot)
            try await Self.write(plan, clientId: session.clientId, now: planner.now, connection, logger: logger)
            await insidePush(.beforeCommit)
            return plan.response
        }
    }

    /// Reads what a push's rules need, locking the records it may change.
    static func load(_ reads: PushReads, clientId: String, _ connection: PostgresConnection, logger: Logger) async throws
        -> PushSnapshot
    {
        var snapshot = PushSnapshot()
        if let repeated = reads.repeated {
            let rows = try await connection.query(
                """
                SELECT mutation_id, outcome, fingerprint FROM mutation_outcomes
                WHERE client_id = \(clientId) AND mutation_id BETWEEN \(repeated.lowerBound) AND \(repeated.upperBound)
                """, logger: logger)
            for try await (id, outcome, fingerprint) in rows.decode((Int64, Data, Int64?).self) {
                snapshot.outcomes[id] = (outcome, fingerprint)
            }
        }
        if !reads.records.isEmpty {
            let rows = try await connection.query(
                """
                SELECT type, id, case_id, citizen_id, authority_id, version, deleted, seq, length(body), body
                FROM records WHERE id = ANY(\(reads.records.sorted())) ORDER BY id FOR UPDATE
                """, logger: logger)
            for try await row in rows.decode((String, String, String, String?, String?, Int64, Bool, Int64, Int32?, Data?).self) {
                snapshot.records.append(try stored(row))
            }
        }
        if !reads.childrenOf.isEmpty || !reads.bodiesOf.isEmpty {
            let all = Array(reads.childrenOf)
            let bodies = Array(reads.bodiesOf)
            let rows = try await connection.query(
                """
                SELECT type, id, case_id, citizen_id, authority_id, version, deleted, seq, length(body),
                       CASE WHEN type IN ('event', 'attachment') AND case_id = ANY(\(bodies)) THEN body END
                FROM records
                WHERE case_id = ANY(\(all + bodies)) AND NOT deleted
                  AND (type IN ('event', 'attachment') OR (type IN ('message', 'conflict') AND case_id = ANY(\(all))))
                ORDER BY seq
                """, logger: logger)
            for try await row in rows.decode((String, String, String, String?, String?, Int64, Bool, Int64, Int32?, Data?).self) {
                snapshot.children.append(try stored(row))
            }
            snapshot.childrenRead = reads.childrenOf
            snapshot.bodiesRead = reads.bodiesOf
        }
        if let account = reads.blobsOf {
            let rows = try await connection.query(
                """
                SELECT sha256, size, content_type FROM uploads
                WHERE account_id = \(account) AND sha256 = ANY(\(Array(reads.blobs))) AND completed_at IS NOT NULL
                """, logger: logger)
            for try await (sha256, size, type) in rows.decode((String, Int64, String?).self) {
                snapshot.blobs[sha256] = UploadedBlob(size: size, contentType: type ?? "")
            }
        }
        if !reads.authorities.isEmpty {
            snapshot.authorities = try await standings(of: reads.authorities, connection, logger: logger)
        }
        if let citizen = reads.storedBytesOf {
            let rows = try await connection.query(
                "SELECT bytes FROM scope_digests WHERE scope = \(ScopeKey.citizen(citizen))", logger: logger)
            for try await bytes in rows.decode(Int64.self) { snapshot.storedBytes = bytes }
        }
        return snapshot
    }

    private static func stored(
        _ row: (String, String, String, String?, String?, Int64, Bool, Int64, Int32?, Data?)
    ) throws -> StoredRecord {
        guard let type = RecordType(rawValue: row.0) else { throw ServiceError(.internalError, "a stored record has an unknown type") }
        return StoredRecord(
            RecordRow(type: type, id: row.1, caseId: row.2, citizenId: row.3, authorityId: row.4, version: row.5, deleted: row.6),
            seq: row.7, bytes: Int(row.8 ?? 0), body: row.9)
    }

    /// Writes a push's plan. Everything but the records first; then the records take their places.
    static func write(_ plan: PushPlan, clientId: String, now: Timestamp, _ connection: PostgresConnection, logger: Logger)
        async throws
    {
        if !plan.outcomes.isEmpty {
            try await connection.query(
                """
                INSERT INTO mutation_outcomes (client_id, mutation_id, outcome, fingerprint)
                SELECT \(clientId), * FROM UNNEST(\(plan.outcomes.map(\.mutationId))::BIGINT[],
                    \(plan.outcomes.map { ByteBuffer(bytes: $0.outcome) })::BYTEA[], \(plan.outcomes.map(\.fingerprint))::BIGINT[])
                """, logger: logger)
        }
        if plan.lastMutationId != plan.previousLastMutationId {
            try await connection.query(
                "UPDATE devices SET last_mutation_id = \(plan.lastMutationId), gap_allowed = FALSE WHERE client_id = \(clientId)",
                logger: logger)
        }
        try await appendAudit(plan.audit, connection, logger: logger)
        if !plan.attachedBlobs.isEmpty {
            try await connection.query(
                """
                UPDATE uploads SET attached_at = \(now.millisecondsSince1970)
                WHERE account_id = \(plan.accountId) AND sha256 = ANY(\(Array(plan.attachedBlobs))) AND attached_at IS NULL
                """, logger: logger)
        }
        if !plan.releasedBlobs.isEmpty {
            let released = Array(plan.releasedBlobs)
            try await connection.query(
                "DELETE FROM uploads WHERE account_id = \(plan.accountId) AND sha256 = ANY(\(released))", logger: logger)
            try await connection.query(
                "INSERT INTO blob_sweeps (sha256) SELECT * FROM UNNEST(\(released)::TEXT[]) ON CONFLICT DO NOTHING", logger: logger)
        }
        // A record written twice in one push is stored once, at the place of its last write.
        var last: [String: Int] = [:]
        for (index, write) in plan.writes.enumerated() { last[write.id] = index }
        let writes = plan.writes.enumerated().filter { last[$0.element.id] == $0.offset }.map(\.element)
        guard !writes.isEmpty else { return try await addToScopes(plan.scopes, connection, logger: logger) }
        // The serialization point: from here to commit, this push holds the feed's row.
        var end: Int64 = 0
        let feed = try await connection.query(
            "UPDATE change_feed SET last_seq = last_seq + \(Int64(writes.count)) WHERE id = 1 RETURNING last_seq", logger: logger)
        for try await value in feed.decode(Int64.self) { end = value }
        let first = end - Int64(writes.count) + 1
        let placed = writes.enumerated().map { (seq: first + Int64($0.offset), write: $0.element) }
        let full = placed.filter { $0.write.body != nil }
        if !full.isEmpty {
            try await connection.query(
                """
                INSERT INTO records (id, type, case_id, citizen_id, authority_id, seq, version, deleted, body, changed_at)
                SELECT id, type, case_id, NULLIF(citizen_id, ''), NULLIF(authority_id, ''), seq, version, deleted, body, \(now.millisecondsSince1970)
                FROM UNNEST(\(full.map(\.write.id))::TEXT[], \(full.map(\.write.type.rawValue))::TEXT[], \(full.map(\.write.caseId))::TEXT[],
                    \(full.map { $0.write.citizenId ?? "" })::TEXT[], \(full.map { $0.write.authorityId ?? "" })::TEXT[],
                    \(full.map(\.seq))::BIGINT[], \(full.map(\.write.version))::BIGINT[], \(full.map(\.write.deleted))::BOOLEAN[],
                    \(full.map { ByteBuffer(bytes: $0.write.body!) })::BYTEA[])
                    AS w(id, type, case_id, citizen_id, authority_id, seq, version, deleted, body)
                ON CONFLICT (id) DO UPDATE SET citizen_id = excluded.citizen_id, authority_id = excluded.authority_id,
                    seq = excluded.seq, version = excluded.version, deleted = excluded.deleted, body = excluded.body,
                    changed_at = excluded.changed_at
                """, logger: logger)
        }
        let moved = placed.filter { $0.write.body == nil }
        if !moved.isEmpty {
            try await connection.query(
                """
                UPDATE records r SET citizen_id = NULLIF(m.citizen_id, ''), authority_id = NULLIF(m.authority_id, ''), seq = m.seq,
                    version = m.version, deleted = m.deleted, changed_at = \(now.millisecondsSince1970)
                FROM UNNEST(\(moved.map(\.write.id))::TEXT[], \(moved.map { $0.write.citizenId ?? "" })::TEXT[],
                    \(moved.map { $0.write.authorityId ?? "" })::TEXT[], \(moved.map(\.seq))::BIGINT[],
                    \(moved.map(\.write.version))::BIGINT[], \(moved.map(\.write.deleted))::BOOLEAN[])
                    AS m(id, citizen_id, authority_id, seq, version, deleted)
                WHERE r.id = m.id
                """, logger: logger)
        }
        try await addToScopes(plan.scopes, connection, logger: logger)
    }

    /// Adds a push's checksum and byte changes to the stored ones, the checksum's sum wrapping at 64
    /// bits as the protocol's does (PostgreSQL's BIGINT would refuse to overflow), and names the scopes
    /// to every instance as the push commits (ScopeWatch; "everything" when they would not fit one
    /// notification's 8,000 bytes).
    static func addToScopes(_ scopes: [String: ScopeDelta], _ connection: PostgresConnection, logger: Logger) async throws {
        guard !scopes.isEmpty else { return }
        let entries = scopes.sorted { $0.key < $1.key }
        try await connection.query(
            """
            WITH changed AS (
            INSERT INTO scope_digests (scope, count, sum, bytes)
            SELECT * FROM UNNEST(\(entries.map(\.key))::TEXT[], \(entries.map(\.value.checksum.count))::BIGINT[],
                \(entries.map { Int64(bitPattern: $0.value.checksum.sum) })::BIGINT[], \(entries.map(\.value.bytes))::BIGINT[])
            ON CONFLICT (scope) DO UPDATE SET count = scope_digests.count + excluded.count,
                sum = ((((scope_digests.sum::NUMERIC + excluded.sum::NUMERIC + 9223372036854775808) % 18446744073709551616)
                    + 18446744073709551616) % 18446744073709551616 - 9223372036854775808)::BIGINT,
                bytes = scope_digests.bytes + excluded.bytes
            RETURNING scope)
            SELECT pg_notify(\(unescaped: ScopeWatch.channel),
                CASE WHEN sum(length(scope) + 1) > 7900 THEN '*' ELSE 's ' || string_agg(scope, ' ') END)
            FROM changed
            """, logger: logger)
    }
}
