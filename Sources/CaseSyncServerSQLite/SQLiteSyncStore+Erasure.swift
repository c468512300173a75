import CaseSyncProtocol
import CaseSyncServer
import CaseSyncSQLite
import GRDB

extension SQLiteSyncStore {
    /// Erases a citizen in one transaction (`ErasurePlan`).
    public func erase(accountId: String) async throws -> ErasureReport {
        let now = environment.now()
        let (report, clients, changedScopes, uploads) = try await writer.write { db -> (ErasureReport, [String], [String], [UploadKey]) in
            try ErasurePlan.checkCitizen(role: try String.fetchOne(db, sql: "SELECT role FROM accounts WHERE id = ?", arguments: [accountId]))
            let plan = ErasurePlan(
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT type, id, authority_id, version, deleted FROM records
                        WHERE citizen_id = ?1 OR case_id IN (SELECT id FROM records WHERE type = 'case' AND citizen_id = ?1)
                        """,
                    arguments: [accountId]
                ).map { row in
                    ErasurePlan.Stored(
                        type: RecordType(rawValue: row[0]) ?? .case, id: row[1], authorityId: row[2], version: row[3], deleted: row[4])
                })
            // The citizen's files go too: those of their cases, and their uploads.
            try Self.queueSweeps(ofCases: plan.caseIds, db)
            let uploads = try String.fetchAll(db, sql: "SELECT sha256 FROM uploads WHERE account_id = ?", arguments: [accountId])
                .map { UploadKey(accountId: accountId, sha256: $0) }
            for upload in uploads {
                try db.execute(sql: "INSERT OR IGNORE INTO blob_sweeps (sha256) VALUES (?)", arguments: [upload.sha256])
            }
            try db.execute(sql: "DELETE FROM uploads WHERE account_id = ?", arguments: [accountId])
            for id in plan.removed { try db.execute(sql: "DELETE FROM records WHERE id = ?", arguments: [id]) }
            try Self.tombstone(plan.tombstones, keepingCitizen: false, now: now, db)
            for id in plan.cleared {
                try db.execute(sql: "UPDATE records SET body = NULL, citizen_id = NULL WHERE id = ?", arguments: [id])
            }
            try Self.addToScopes(plan.scopes, db)
            let scope = ScopeKey.citizen(accountId)
            try db.execute(sql: "DELETE FROM scope_digests WHERE scope = ?", arguments: [scope])
            try db.execute(sql: "DELETE FROM scope_horizons WHERE scope = ?", arguments: [scope])
            let clients = try String.fetchAll(db, sql: "SELECT client_id FROM devices WHERE account_id = ?", arguments: [accountId])
            for client in clients {
                try db.execute(sql: "DELETE FROM mutation_outcomes WHERE client_id = ?", arguments: [client])
            }
            try db.execute(sql: "DELETE FROM devices WHERE account_id = ?", arguments: [accountId])
            try db.execute(sql: "DELETE FROM login_codes WHERE account_id = ?", arguments: [accountId])
            try db.execute(sql: "DELETE FROM accounts WHERE id = ?", arguments: [accountId])
            // The trail keeps only that the erasure happened.
            try db.execute(sql: "UPDATE server_state SET erasing = 1")
            try db.execute(sql: "DELETE FROM audit_log WHERE account_id = ?", arguments: [accountId])
            for caseId in plan.caseIds { try db.execute(sql: "DELETE FROM audit_log WHERE case_id = ?", arguments: [caseId]) }
            try db.execute(sql: "UPDATE server_state SET erasing = 0")
            try Self.appendAudit([plan.entry(accountId: accountId, at: now)], db)
            let records = plan.removed.count + plan.tombstones.count + plan.cleared.count
            return (
                ErasureReport(cases: plan.caseIds.count, records: records, devices: clients.count), clients, Array(plan.scopes.keys), uploads
            )
        }
        for upload in uploads { try await blobs.discard(upload) }
        try await BlobSweep(store: self).sweepQueued()
        sessions.evict(clientIds: Set(clients))
        changes.changed(changedScopes)
        // The log still holds the erased pages: copied into the file (where they are overwritten) and emptied.
        _ = try? await writer.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        return report
    }

    /// Makes live records tombstones without content, each at the next place in the change sequence;
    /// without `keepingCitizen`, their citizen no longer sees them.
    static func tombstone(_ tombstones: [(id: String, version: Int64)], keepingCitizen: Bool, now: Timestamp, _ db: Database) throws {
        guard !tombstones.isEmpty else { return }
        var seq = try Self.nextPlace(db)
        let update = try RawStatement(
            db, sql: "UPDATE records SET seq = ?, version = ?, deleted = 1, body = NULL, changed_at = ?\(keepingCitizen ? "" : ", citizen_id = NULL") WHERE id = ?")
        for (id, version) in tombstones {
            try update.bind(seq).bind(version).bind(now.millisecondsSince1970).bind(id).run()
            seq += 1
        }
        try db.execute(sql: "UPDATE server_state SET last_seq = ?", arguments: [seq - 1])
    }
}
