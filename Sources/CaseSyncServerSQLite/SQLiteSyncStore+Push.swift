import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncSQLite
import CaseSyncServer
import Foundation
import GRDB
import Synchronization

/// A push on SQLite: the one writer's transaction loads what `PushPlanner` asks for, and writes its
/// plan, each record at the next place in the change sequence (kept in `server_state.last_seq`; safe with
/// one writer).
/// Pushes that arrive together share a transaction (`GroupCommit`).
extension SQLiteSyncStore {
    public func push(_ request: PushRequest, session: Session) async throws -> PushResponse {
        let planner = try PushPlanner(request, session: session, limits: limits, environment: environment)
        let changed = Mutex<[String]>([])
        let work: GroupCommit.Work = { db in
            let device = try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT last_mutation_id FROM devices WHERE client_id = ?1), \(SessionRules.deviceStateSQL("?1")),
                           (SELECT gap_allowed FROM devices WHERE client_id = ?1)
                    """,
                arguments: [session.clientId])
            // The device is read again in the transaction that does the work: a revocation committed
            // before it is never outrun.
            try SessionRules.checkActive(device?[1])
            let last = planner.lastMutationId(stored: device?[0] ?? 0, gapAllowed: device?[2] ?? false)
            let reads = try planner.reads(lastMutationId: last)
            let plan = try planner.plan(lastMutationId: last, snapshot: try Self.load(reads, clientId: session.clientId, db))
            try Self.write(plan, clientId: session.clientId, now: planner.now, db)
            changed.withLock { $0 = Array(plan.scopes.keys) }
            return plan.response
        }
        let response: PushResponse
        if let commits {
            response = try await commits.run(work)
        } else {
            defer { checkpointer?.noteWrite() }
            response = try await writer.write(work)
        }
        // Committed: the devices waiting on the scopes it changed wake.
        changes.changed(changed.withLock { $0 })
        return response
    }

    /// Reads what a push's rules need, in its transaction.
    static func load(_ reads: PushReads, clientId: String, _ db: Database) throws -> PushSnapshot {
        var snapshot = PushSnapshot()
        if let repeated = reads.repeated {
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT mutation_id, outcome, fingerprint FROM mutation_outcomes WHERE client_id = ? AND mutation_id BETWEEN ? AND ?",
                arguments: [clientId, repeated.lowerBound, repeated.upperBound])
            for row in rows { snapshot.outcomes[row[0]] = (row[1], row[2]) }
        }
        let record = try RawStatement(db, sql: PushStatements.recordRead)
        for id in reads.records {
            if let found = try record.bind(id).first({ Self.stored($0, id: id, caseId: nil) }) {
                snapshot.records.append(try found.get())
            }
        }
        if !reads.childrenOf.isEmpty || !reads.bodiesOf.isEmpty {
            let children = try RawStatement(db, sql: PushStatements.childrenRead)
            for caseId in reads.childrenOf.union(reads.bodiesOf) {
                let all = reads.childrenOf.contains(caseId)
                let bodies = reads.bodiesOf.contains(caseId)
                try children.bind(caseId).bind(all ? "message" : "event").bind(all ? "conflict" : "event").bind(bodies).each { row in
                    snapshot.children.append(try Self.stored(row, id: nil, caseId: caseId).get())
                }
                if all { snapshot.childrenRead.insert(caseId) }
                if bodies { snapshot.bodiesRead.insert(caseId) }
            }
        }
        for id in reads.authorities { snapshot.authorities[id] = try Self.standing(db, authorityId: id) }
        if let account = reads.blobsOf {
            let grant = try RawStatement(
                db, sql: "SELECT size, content_type FROM uploads WHERE account_id = ? AND sha256 = ? AND completed_at IS NOT NULL")
            for sha256 in reads.blobs {
                if let blob = try grant.bind(account).bind(sha256).first({ UploadedBlob(size: $0.int64(0), contentType: $0.string(1) ?? "") }) {
                    snapshot.blobs[sha256] = blob
                }
            }
        }
        if let citizen = reads.storedBytesOf {
            snapshot.storedBytes = try Int64.fetchOne(
                db, sql: "SELECT bytes FROM scope_digests WHERE scope = ?", arguments: [ScopeKey.citizen(citizen)]) ?? 0
        }
        return snapshot
    }

    /// A record from the columns of `PushStatements.recordRead` (id given) or `childrenRead` (case given).
    private static func stored(_ row: RawStatement.Columns, id: String?, caseId: String?) -> Result<StoredRecord, ServiceError> {
        guard let type = RecordType(rawValue: row.string(0) ?? ""), let other = row.string(1) else {
            return .failure(ServiceError(.internalError, "a stored record has an unknown type"))
        }
        return .success(
            StoredRecord(
                RecordRow(
                    type: type, id: id ?? other, caseId: caseId ?? other, citizenId: row.string(2), authorityId: row.string(3),
                    version: row.int64(4), deleted: row.int64(5) != 0),
                seq: row.int64(6), bytes: Int(row.int64(7)), body: row.data(8)))
    }

    /// Writes a push's plan: its records, outcomes, the device's last mutation id and the scopes' sums.
    static func write(_ plan: PushPlan, clientId: String, now: Timestamp, _ db: Database) throws {
        if !plan.writes.isEmpty {
            var seq = try Self.nextPlace(db)
            let upsert = try RawStatement(db, sql: PushStatements.recordUpsert)
            let move = try RawStatement(db, sql: PushStatements.recordMove)
            for write in plan.writes {
                if let body = write.body {
                    try upsert.bind(write.id).bind(write.type.rawValue).bind(write.caseId).bind(write.citizenId).bind(write.authorityId)
                        .bind(seq).bind(write.version).bind(write.deleted).bind(body).bind(now.millisecondsSince1970).run()
                } else {
                    try move.bind(write.citizenId).bind(write.authorityId).bind(seq).bind(write.version).bind(write.deleted)
                        .bind(now.millisecondsSince1970).bind(write.id).run()
                }
                seq += 1
            }
            try db.execute(sql: "UPDATE server_state SET last_seq = ?", arguments: [seq - 1])
        }
        let outcome = try RawStatement(db, sql: PushStatements.outcomeInsert)
        for new in plan.outcomes {
            try outcome.bind(clientId).bind(new.mutationId).bind(new.outcome).bind(new.fingerprint).run()
        }
        if plan.lastMutationId != plan.previousLastMutationId {
            try db.execute(
                sql: "UPDATE devices SET last_mutation_id = ?, gap_allowed = 0 WHERE client_id = ?", arguments: [plan.lastMutationId, clientId])
        }
        try addToScopes(plan.scopes, db)
        try appendAudit(plan.audit, db)
        for sha256 in plan.attachedBlobs {
            try db.execute(
                sql: "UPDATE uploads SET attached_at = ? WHERE account_id = ? AND sha256 = ? AND attached_at IS NULL",
                arguments: [now.millisecondsSince1970, plan.accountId, sha256])
        }
        for sha256 in plan.releasedBlobs {
            try db.execute(sql: "DELETE FROM uploads WHERE account_id = ? AND sha256 = ?", arguments: [plan.accountId, sha256])
            try db.execute(sql: "INSERT OR IGNORE INTO blob_sweeps (sha256) VALUES (?)", arguments: [sha256])
        }
    }

    /// The next place in the change sequence (the caller stores the last it takes in `server_state.last_seq`).
    static func nextPlace(_ db: Database) throws -> Int64 {
        (try Int64.fetchOne(db, sql: "SELECT last_seq FROM server_state") ?? 0) + 1
    }

    /// Adds a push's checksum and byte changes to the stored ones (wrapping arithmetic for the checksum,
    /// in Swift: SQLite would turn an overflowing sum into a float).
    static func addToScopes(_ scopes: [String: ScopeDelta], _ db: Database) throws {
        for (scope, delta) in scopes {
            let row = try Row.fetchOne(db, sql: "SELECT count, sum, bytes FROM scope_digests WHERE scope = ?", arguments: [scope])
            let count = (row?["count"] as Int64? ?? 0) + delta.checksum.count
            let sum = UInt64(bitPattern: row?["sum"] as Int64? ?? 0) &+ delta.checksum.sum
            let bytes = (row?["bytes"] as Int64? ?? 0) + delta.bytes
            try db.execute(
                sql: """
                    INSERT INTO scope_digests (scope, count, sum, bytes) VALUES (?, ?, ?, ?)
                    ON CONFLICT(scope) DO UPDATE SET count = excluded.count, sum = excluded.sum, bytes = excluded.bytes
                    """,
                arguments: [scope, count, Int64(bitPattern: sum), bytes])
        }
    }
}

/// The statements a push runs for every mutation (public so that the benchmark's SQLite floor runs
/// exactly these).
public enum PushStatements {
    /// A record by id: type, case_id, citizen_id, authority_id, version, deleted, seq, length(body), body.
    public static let recordRead = """
        SELECT type, case_id, citizen_id, authority_id, version, deleted, seq, length(body), body FROM records WHERE id = ?
        """
    /// A case's live children: events, attachments and the two types given (`event` twice for no more),
    /// and the bodies of events and attachments if the fourth argument is true. Columns as `recordRead`'s,
    /// with id for case_id.
    static let childrenRead = """
        SELECT type, id, citizen_id, authority_id, version, deleted, seq, length(body),
               CASE WHEN type IN ('event', 'attachment') AND ?4 THEN body END
        FROM records WHERE case_id = ?1 AND deleted = 0 AND type IN ('event', 'attachment', ?2, ?3) ORDER BY seq
        """
    /// Arguments: id, type, case_id, citizen_id, authority_id, seq, version, deleted, body, changed_at.
    public static let recordUpsert = """
        INSERT INTO records (id, type, case_id, citizen_id, authority_id, seq, version, deleted, body, changed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET citizen_id = excluded.citizen_id, authority_id = excluded.authority_id,
            seq = excluded.seq, version = excluded.version, deleted = excluded.deleted, body = excluded.body,
            changed_at = excluded.changed_at
        """
    /// A record moved into other scopes, keeping its body. Arguments: citizen_id,
    /// authority_id, seq, version, deleted, changed_at, id.
    static let recordMove = """
        UPDATE records SET citizen_id = ?, authority_id = ?, seq = ?, version = ?, deleted = ?, changed_at = ? WHERE id = ?
        """
    /// Arguments: client_id, mutation_id, outcome, fingerprint.
    public static let outcomeInsert = "INSERT INTO mutation_outcomes (client_id, mutation_id, outcome, fingerprint) VALUES (?, ?, ?, ?)"
}
