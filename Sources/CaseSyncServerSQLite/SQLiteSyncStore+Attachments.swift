import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncSQLite
import CaseSyncServer
import Foundation
import GRDB

/// Who may use which blob, on SQLite (`uploads`, `blob_sweeps`); the bytes are in `blobs`.
extension SQLiteSyncStore {
    public func upload(_ key: UploadKey) async throws -> StoredUpload? {
        try await writer.read { db in try Self.upload(key, db) }
    }

    static func upload(_ key: UploadKey, _ db: Database) throws -> StoredUpload? {
        try Row.fetchOne(
            db, sql: "SELECT size, started_at, content_type, completed_at FROM uploads WHERE account_id = ? AND sha256 = ?",
            arguments: [key.accountId, key.sha256]
        ).map { row in
            StoredUpload(
                size: row[0], startedAt: Timestamp(millisecondsSince1970: row[1]),
                blob: (row[3] as Int64?) == nil ? nil : UploadedBlob(size: row[0], contentType: row[2] ?? ""))
        }
    }

    public func beginUpload(_ key: UploadKey, size: Int64, at now: Timestamp) async throws -> StoredUpload {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO uploads (account_id, sha256, size, started_at) VALUES (?, ?, ?, ?)",
                arguments: [key.accountId, key.sha256, size, now.millisecondsSince1970])
            guard let upload = try Self.upload(key, db) else { throw ServiceError(.internalError, "an upload was not kept") }
            return upload
        }
    }

    public func completeUpload(_ key: UploadKey, blob: UploadedBlob, at now: Timestamp) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE uploads SET content_type = ?, completed_at = ? WHERE account_id = ? AND sha256 = ?",
                arguments: [blob.contentType, now.millisecondsSince1970, key.accountId, key.sha256])
        }
    }

    public func pendingUploadBytes(accountId: String) async throws -> Int64 {
        try await writer.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT COALESCE(SUM(size), 0) FROM uploads WHERE account_id = ? AND attached_at IS NULL", arguments: [accountId]) ?? 0
        }
    }

    public func forgetUpload(_ key: UploadKey) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM uploads WHERE account_id = ? AND sha256 = ?", arguments: [key.accountId, key.sha256])
        }
    }

    public func attachment(caseId: String, sha256: String, session: Session) async throws -> AttachmentRecord? {
        // The scope columns say who sees a record, as a pull does.
        let scope = session.account.role == .citizen ? "citizen_id" : "authority_id"
        let owner = session.account.role == .citizen ? session.account.id : session.account.authorityId ?? ""
        let body = try await writer.read { db in
            try Data.fetchOne(
                db,
                sql: """
                    SELECT body FROM records WHERE case_id = ? AND type = 'attachment' AND deleted = 0 AND \(scope) = ?
                    AND json_extract(CAST(body AS TEXT), '$.sha256') = ? LIMIT 1
                    """,
                arguments: [caseId, owner, sha256])
        }
        return try body.map { try WireCoding.decode(AttachmentRecord.self, from: $0) }
    }

    public func blobsInUse(_ candidates: Set<String>) async throws -> Set<String> {
        guard !candidates.isEmpty else { return [] }
        let list = Array(candidates)
        let marks = databaseQuestionMarks(count: list.count)
        return try await writer.read { db in
            Set(
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT sha256 FROM uploads WHERE sha256 IN (\(marks)) AND attached_at IS NULL
                        UNION
                        SELECT json_extract(CAST(body AS TEXT), '$.sha256') FROM records
                        WHERE type = 'attachment' AND deleted = 0 AND json_extract(CAST(body AS TEXT), '$.sha256') IN (\(marks))
                        """,
                    arguments: StatementArguments(list + list)))
        }
    }

    public func forgetUploads(of blobs: Set<String>) async throws {
        try await writer.write { db in
            for sha256 in blobs { try db.execute(sql: "DELETE FROM uploads WHERE sha256 = ?", arguments: [sha256]) }
        }
    }

    public func queuedSweeps(limit: Int) async throws -> Set<String> {
        try await writer.read { db in Set(try String.fetchAll(db, sql: "SELECT sha256 FROM blob_sweeps LIMIT ?", arguments: [limit])) }
    }

    public func dequeueSweeps(_ blobs: Set<String>) async throws {
        try await writer.write { db in
            for sha256 in blobs { try db.execute(sql: "DELETE FROM blob_sweeps WHERE sha256 = ?", arguments: [sha256]) }
        }
    }

    public func expireUploads(before cutoff: Timestamp) async throws -> [UploadKey] {
        try await writer.write { db in
            let expired = try Row.fetchAll(
                db, sql: "SELECT account_id, sha256 FROM uploads WHERE started_at < ?", arguments: [cutoff.millisecondsSince1970]
            ).map { UploadKey(accountId: $0[0], sha256: $0[1]) }
            try db.execute(sql: "DELETE FROM uploads WHERE started_at < ?", arguments: [cutoff.millisecondsSince1970])
            return expired
        }
    }

    /// Queues the blobs that live attachments of `caseIds` name, for the sweep once they are gone.
    static func queueSweeps(ofCases caseIds: some Sequence<String>, _ db: Database) throws {
        let queue = try RawStatement(
            db,
            sql: """
                INSERT OR IGNORE INTO blob_sweeps (sha256)
                SELECT json_extract(CAST(body AS TEXT), '$.sha256') FROM records WHERE case_id = ? AND type = 'attachment' AND deleted = 0
                """)
        for caseId in caseIds { try queue.bind(caseId).run() }
    }
}
