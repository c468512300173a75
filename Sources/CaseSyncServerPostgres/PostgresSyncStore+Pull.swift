import CaseSyncProtocol
import CaseSyncServer
import Foundation
import PostgresNIO

extension PostgresSyncStore {
    /// The scope's facts and its changes after the cursor. A device that is up to date (the common
    /// "anything new?" sync) costs one statement, consistent on its own; one that has news reads the facts
    /// again and its page in one snapshot, so the checksum always matches the records a last page completes.
    public func pull(after cursor: Int64, limit: Int, session: Session) async throws -> RawPullResponse {
        let scope = Self.scope(of: session.account)
        let (maxPageBytes, logger) = (limits.maxPageBytes, logger)
        let quick = try PullPageBuilder(
            cursor: cursor, limit: limit, maxPageBytes: maxPageBytes,
            facts: try await Self.facts(scope, try await client.query(Self.factsQuery(scope), logger: logger)))
        guard quick.needsRows else { return quick.response }
        return try await snapshot { connection in
            var page = try PullPageBuilder(
                cursor: cursor, limit: limit, maxPageBytes: maxPageBytes,
                facts: try await Self.facts(scope, try await connection.query(Self.factsQuery(scope), logger: logger)))
            guard page.needsRows else { return page.response }
            let rows = try await connection.query(
                """
                SELECT seq, type, id, case_id, version, deleted, body FROM records
                WHERE \(unescaped: scope.column) = \(scope.value) AND seq > \(cursor)
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

    /// A session's scope: the column that selects it (a name of this file's, never input), its value,
    /// and its key among the digests and horizons.
    struct Scope {
        let column: String
        let value: String
        let key: String
    }

    static func scope(of account: AccountInfo) -> Scope {
        account.role == .citizen
            ? Scope(column: "citizen_id", value: account.id, key: ScopeKey.of(account))
            : Scope(column: "authority_id", value: account.authorityId ?? "", key: ScopeKey.of(account))
    }

    /// One statement for the scope's horizon, latest change and checksum.
    static func factsQuery(_ scope: Scope) -> PostgresQuery {
        """
        SELECT (SELECT compacted_through FROM scope_horizons WHERE scope = \(scope.key)),
               (SELECT MAX(seq) FROM records WHERE \(unescaped: scope.column) = \(scope.value)),
               (SELECT count FROM scope_digests WHERE scope = \(scope.key)),
               (SELECT sum FROM scope_digests WHERE scope = \(scope.key))
        """
    }

    static func facts(_ scope: Scope, _ rows: PostgresRowSequence) async throws -> PullPageBuilder.ScopeFacts {
        var facts = PullPageBuilder.ScopeFacts(horizon: 0, latest: 0, checksum: StateChecksum(count: 0, sum: 0))
        for try await (horizon, latest, count, sum) in rows.decode((Int64?, Int64?, Int64?, Int64?).self) {
            facts = PullPageBuilder.ScopeFacts(
                horizon: horizon ?? 0, latest: latest ?? 0, checksum: StateChecksum(count: count ?? 0, sum: UInt64(bitPattern: sum ?? 0)))
        }
        return facts
    }
}
