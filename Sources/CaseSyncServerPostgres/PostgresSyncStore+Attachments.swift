import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import Foundation
import Logging
import PostgresNIO

/// Who may use which blob, on PostgreSQL (`uploads`, `blob_sweeps`); the bytes are in `blobs`.
extension PostgresSyncStore {
    public func upload(_ key: UploadKey) async throws -> StoredUpload? {
        try ensureRunning()
        var found: StoredUpload?
        for try await (size, started, type, completed) in try await client.query(
            "SELECT size, started_at, content_type, completed_at FROM uploads WHERE account_id = \(key.accountId) AND sha256 = \(key.sha256)",
            logger: logger
        ).decode((Int64, Int64, String?, Int64?).self) {
            found = StoredUpload(
                size: size, startedAt: Timestamp(millisecondsSince1970: started),
                blob: completed == nil ? nil : UploadedBlob(size: size, contentType: type ?? ""))
        }
        return found
    }

    public func beginUpload(_ key: UploadKey, size: Int64, at now: Timestamp) async throws -> StoredUpload {
        try ensureRunning()
        try await client.query(
            """
            INSERT INTO uploads (account_id, sha256, size, started_at) VALUES (\(key.accountId), \(key.sha256), \(size), \(now.millisecondsSince1970))
            ON CONFLICT DO NOTHING
            """, logger: logger)
        guard let upload = try await upload(key) else { throw ServiceError(.internalError, "an upload was not kept") }
        return upload
    }

    public func completeUpload(_ key: UploadKey, blob: UploadedBlob, at now: Timestamp) async throws {
        try await client.query(
            """
            UPDATE uploads SET content_type = \(blob.contentType), completed_at = \(now.millisecondsSince1970)
            WHERE account_id = \(key.accountId) AND sha256 = \(key.sha256)
            """, logger: logger)
    }

    public func pendingUploadBytes(accountId: String) async throws -> Int64 {
        var bytes: Int64 = 0
        for try await value in try await client.query(
            "SELECT COALESCE(SUM(size), 0)::BIGINT FROM uploads WHERE account_id = \(accountId) AND attached_at IS NULL", logger: logger
        ).decode(Int64.self) {
            bytes = value
        }
        return bytes
    }

    public func forgetUpload(_ key: UploadKey) async throws {
        try await client.query("DELETE FROM uploads WHERE account_id = \(key.accountId) AND sha256 = \(key.sha256)", logger: logger)
    }

    public func attachment(caseId: String, sha256: String, session: Session) async throws -> AttachmentRecord? {
        try ensureRunning()
        let citizen = session.account.role == .citizen ? session.account.id : nil
        let authority = session.account.role == .officer ? session.account.authorityId : nil
        // The scope columns say who sees a record, as a pull does.
        for try await body in try await client.query(
            """
            SELECT body FROM records WHERE case_id = \(caseId) AND type = 'attachment' AND NOT deleted
              AND (citizen_id = \(citizen) OR authority_id = \(authority))
              AND convert_from(body, 'UTF8')::jsonb ->> 'sha256' = \(sha256)
            LIMIT 1
            """, logger: logger
        ).decode(Data.self) {
            return try WireCoding.decode(AttachmentRecord.self, from: body)
        }
        return nil
    }

    public func blobsInUse(_ candidates: Set<String>) async throws -> Set<String> {
        guard !candidates.isEmpty else { return [] }
        let list = Array(candidates)
        var used: Set<String> = []
        for try await sha256 in try await client.query(
            """
            SELECT sha256 FROM uploads WHERE sha256 = ANY(\(list)) AND attached_at IS NULL
            UNION
            SELECT convert_from(body, 'UTF8')::jsonb ->> 'sha256' FROM records
            WHERE type = 'attachment' AND NOT deleted AND convert_from(body, 'UTF8')::jsonb ->> 'sha256' = ANY(\(list))
            """, logger: logger
        ).decode(String.self) {
            used.insert(sha256)
        }
        return used
    }

    public func forgetUploads(of blobs: Set<String>) async throws {
        guard !blobs.isEmpty else { return }
        try await client.query("DELETE FROM uploads WHERE sha256 = ANY(\(Array(blobs)))", logger: logger)
    }

    public func queuedSweeps(limit: Int) async throws -> Set<String> {
        var queued: Set<String> = []
        for try await sha256 in try await client.query("SELECT sha256 FROM blob_sweeps LIMIT \(limit)", logger: logger).decode(String.self) {
            queued.insert(sha256)
        }
        return queued
    }

    public func dequeueSweeps(_ blobs: Set<String>) async throws {
        try await client.query("DELETE FROM blob_sweeps WHERE sha256 = ANY(\(Array(blobs)))", logger: logger)
    }

    public func expireUploads(before cutoff: Timestamp) async throws -> [UploadKey] {
        var expired: [UploadKey] = []
        for try await (account, sha256) in try await client.query(
            "DELETE FROM uploads WHERE started_at < \(cutoff.millisecondsSince1970) RETURNING account_id, sha256", logger: logger
        ).decode((String, String).self) {
            expired.append(UploadKey(accountId: account, sha256: sha256))
        }
        return expired
    }

    /// Queues the blobs that live attachments of `caseIds` name, for the sweep once they are gone.
    static func queueSweeps(ofCases caseIds: [String], _ connection: PostgresConnection, logger: Logger) async throws {
        guard !caseIds.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO blob_sweeps (sha256)
            SELECT DISTINCT convert_from(body, 'UTF8')::jsonb ->> 'sha256' FROM records
            WHERE case_id = ANY(\(caseIds)) AND type = 'attachment' AND NOT deleted
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }
}
