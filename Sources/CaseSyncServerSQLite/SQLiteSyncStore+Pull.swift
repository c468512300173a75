import CaseSyncProtocol
import CaseSyncServer
import Foundation
import GRDB

extension SQLiteSyncStore {
    public func pull(after cursor: Int64, fromStart: Bool, limit: Int, session: Session) async throws -> RawPullResponse {
        let (column, value) = Self.scopeColumn(session.account)
        let scope = ScopeKey.of(session.account)
        let maxPageBytes = limits.maxPageBytes
        return try await writer.read { db in
            // One statement for the scope's horizon, latest change and checksum, and the device's standing.
            let facts = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT MAX(COALESCE((SELECT compacted_through FROM scope_horizons WHERE scope = ?1), 0),
                                   (SELECT restored_floor FROM server_state)),
                               (SELECT MAX(seq) FROM records WHERE \(column) = ?2),
                               (SELECT count FROM scope_digests WHERE scope = ?1),
                               (SELECT sum FROM scope_digests WHERE scope = ?1),
                               \(SessionRules.deviceStateSQL("?3"))
                        """),
                arguments: [scope, value, session.clientId])
            // The device is read in the same transaction as its page: a revocation committed before it
            // is never outrun.
            try SessionRules.checkActive(facts?[4])
            var page = try PullPageBuilder(
                cursor: cursor, fromStart: fromStart, limit: limit, maxPageBytes: maxPageBytes,
                facts: PullPageBuilder.ScopeFacts(
                    horizon: facts?[0] as Int64? ?? 0, latest: facts?[1] as Int64? ?? 0,
                    checksum: StateChecksum(count: facts?[2] as Int64? ?? 0, sum: UInt64(bitPattern: facts?[3] as Int64? ?? 0))))
            if page.needsRows {
                let rows = try Row.fetchCursor(
                    db.cachedStatement(
                        sql: "SELECT seq, type, id, case_id, version, deleted, body FROM records WHERE \(column) = ? AND seq > ? ORDER BY seq LIMIT ?"),
                    arguments: [value, cursor, page.rowLimit])
                while let row = try rows.next(), page.offer(try Self.change(from: row)) {}
            }
            return page.response
        }
    }

    /// The column and value that select a session's scope.
    static func scopeColumn(_ account: AccountInfo) -> (column: String, value: String) {
        switch account.role {
        case .citizen: ("citizen_id", account.id)
        case .officer: ("authority_id", account.authorityId ?? "")
        }
    }

    static func change(from row: Row) throws -> RawPullResponse.Change {
        guard let type = RecordType(rawValue: row[1]) else {
            throw ServiceError(.internalError, "a stored record has an unknown type")
        }
        let deleted: Bool = row[5]
        return RawPullResponse.Change(
            seq: row[0], type: type, id: row[2], caseId: row[3], version: row[4], deleted: deleted,
            data: deleted ? nil : row[6] as Data?)
    }
}
