import CaseSyncProtocol
import CaseSyncServer
import Foundation
import PostgresNIO

extension PostgresSyncStore {
    /// The scope's facts and its changes after the cursor, read in one snapshot: the checksum always
    /// matches the records a last page completes.
    public func pull(after cursor: Int64, limit: Int, session: Session) async throws -> RawPullResponse {
        let scope = ScopeKey.of(session.account)
        // The column that selects the scope (a name of this file's, never input) and its value.
        let (column, value) =
            session.account.role == .citizen ? ("citizen_id", session.account.id) : ("authority_id", session.account.authorityId ?? "")
        let (maxPageBytes, logger) = (limits.maxPageBytes, logger)
        return try await snapshot { connection in
            var facts = PullPage.ScopeFacts(horizon: 0, latest: 0, checksum: StateChecksum(count: 0, sum: 0))
            let factRows = try await connection.query(
                """
                SELECT (SELECT compacted_through FROM scope_horizons WHERE scope = \(scope)),
                       (SELECT MAX(seq) FROM records WHERE \(unescaped: column) = \(value)),
                       (SELECT count FROM scope_digests WHERE scope = \(scope)),
                       (SELECT sum FROM scope_digests WHERE scope = \(scope))
                """, logger: logger)
            for try await (horizon, latest, count, sum) in factRows.decode((Int64?, Int64?, Int64?, Int64?).self) {
                facts = PullPage.ScopeFacts(
                    horizon: horizon ?? 0, latest: latest ?? 0,
                    checksum: StateChecksum(count: count ?? 0, sum: UInt64(bitPattern: sum ?? 0)))
            }
            var page = try PullPage(cursor: cursor, limit: limit, maxPageBytes: maxPageBytes, facts: facts)
            guard page.needsRows else { return page.response }
            let rows = try await connection.query(
                """
                SELECT seq, type, id, case_id, version, deleted, body FROM records
                WHERE \(unescaped: column) = \(value) AND seq > \(cursor)
                ORDER BY seq LIMIT \(page.rowLimit)
                """, logger: logger)
            for try await row in rows.decode((Int64, String, String, String, Int64, Bool, Data?).self) {
                guard let type = RecordType(rawValue: row.1) else {
                    throw ServiceError(.internalError, "a stored record has an unknown type")
                }
                let change = RawPullResponse.Change(
                    seq: row.0, type: type, id: row.2, caseId: row.3, version: row.4, deleted: row.5, data: row.5 ? nil : row.6)
                guard page.offer(change) else { break }
            }
            return page.response
        }
    }
}
