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
            cursor: cursor, limit: limit, maxPageBytes: maxPageBytes, facts: try await quickFacts(scope))
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

    /// The scope's facts by a statement each connection prepares once: the sync of an up-to-date device
    /// is one round trip that PostgreSQL neither parses nor plans again.
    private func quickFacts(_ scope: Scope) async throws -> PullPageBuilder.ScopeFacts {
        var facts = PullPageBuilder.ScopeFacts(horizon: 0, latest: 0, checksum: StateChecksum(count: 0, sum: 0))
        let rows =
            scope.column == "citizen_id"
            ? try await client.execute(ScopeFacts<CitizenColumn>(key: scope.key, value: scope.value), logger: logger)
            : try await client.execute(ScopeFacts<AuthorityColumn>(key: scope.key, value: scope.value), logger: logger)
        for try await row in rows { facts = Self.facts(row) }
        return facts
    }

    static func facts(_ row: (Int64?, Int64?, Int64?, Int64?)) -> PullPageBuilder.ScopeFacts {
        PullPageBuilder.ScopeFacts(
            horizon: row.0 ?? 0, latest: row.1 ?? 0, checksum: StateChecksum(count: row.2 ?? 0, sum: UInt64(bitPattern: row.3 ?? 0)))
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
        for try await row in rows.decode((Int64?, Int64?, Int64?, Int64?).self) { facts = Self.facts(row) }
        return facts
    }
}

/// The column that selects a scope, named in a prepared statement's text.
protocol ScopeColumn: Sendable {
    static var name: String { get }
}

enum CitizenColumn: ScopeColumn { static let name = "citizen_id" }
enum AuthorityColumn: ScopeColumn { static let name = "authority_id" }

/// The facts query of `factsQuery`, prepared once a connection, for the scopes of one column.
struct ScopeFacts<Column: ScopeColumn>: PostgresPreparedStatement {
    typealias Row = (Int64?, Int64?, Int64?, Int64?)
    static var sql: String {
        """
        SELECT (SELECT compacted_through FROM scope_horizons WHERE scope = $1),
               (SELECT MAX(seq) FROM records WHERE \(Column.name) = $2),
               (SELECT count FROM scope_digests WHERE scope = $1),
               (SELECT sum FROM scope_digests WHERE scope = $1)
        """
    }
    let key: String
    let value: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(key)
        bindings.append(value)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
