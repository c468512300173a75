import CaseSyncProtocol
import CaseSyncServer
import Foundation
import PostgresNIO

extension PostgresSyncStore {
    /// The scope's facts and its changes after the cursor. A device that is up to date (the common
    /// "anything new?" sync) is answered from what the instance knows (after a barrier it shares with
    /// the others asking) or costs one statement, consistent on its own; one that has news reads the
    /// facts again and its page in one snapshot, so the checksum always matches the records a last page
    /// completes.
    public func pull(after cursor: Int64, limit: Int, session: Session) async throws -> RawPullResponse {
        let scope = Self.scope(of: session.account)
        let (maxPageBytes, logger) = (limits.maxPageBytes, logger)
        // An up-to-date device, by what this instance knows: answered from memory once a barrier has
        // made sure nothing committed before the request is unheard (ScopeWatch).
        if let known = watch.known(scope.key), cursor >= known.latest, await watch.barrier(send: notify, logger: logger),
            let facts = watch.known(scope.key),
            let page = try? PullPageBuilder(cursor: cursor, limit: limit, maxPageBytes: maxPageBytes, facts: facts), !page.needsRows
        {
            watch.countAnswerFromMemory()
            return page.response
        }
        try ensureRunning()
        let read = watch.beginRead(scope.key)
        let facts = try await Self.facts(scope, on: client, logger: logger)
        if let read { watch.finishRead(scope.key, token: read, facts: facts) }
        let quick = try PullPageBuilder(cursor: cursor, limit: limit, maxPageBytes: maxPageBytes, facts: facts)
        guard quick.needsRows else { return quick.response }
        return try await snapshot { connection in
            var page = try PullPageBuilder(
                cursor: cursor, limit: limit, maxPageBytes: maxPageBytes,
                facts: try await Self.facts(scope, on: connection, logger: logger))
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

    /// The scope's horizon, latest change and checksum, by one statement each connection prepares once:
    /// the sync of an up-to-date device is one round trip that PostgreSQL neither parses nor plans again.
    static func facts(_ scope: Scope, on executor: some PreparedStatementExecutor, logger: Logger) async throws
        -> PullPageBuilder.ScopeFacts
    {
        var row: ScopeFacts<CitizenColumn>.Row = (nil, nil, nil, nil)
        if scope.column == CitizenColumn.name {
            for try await found in try await executor.execute(ScopeFacts<CitizenColumn>(key: scope.key, value: scope.value), logger: logger) {
                row = found
            }
        } else {
            for try await found in try await executor.execute(ScopeFacts<AuthorityColumn>(key: scope.key, value: scope.value), logger: logger) {
                row = found
            }
        }
        return PullPageBuilder.ScopeFacts(
            horizon: row.0 ?? 0, latest: row.1 ?? 0, checksum: StateChecksum(count: row.2 ?? 0, sum: UInt64(bitPattern: row.3 ?? 0)))
    }
}

/// What runs a prepared statement: the pool, or one connection inside a snapshot.
protocol PreparedStatementExecutor {
    func execute<Statement: PostgresPreparedStatement, Row>(
        _ preparedStatement: Statement, logger: Logger, file: String, line: Int
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Row> where Row == Statement.Row
}

extension PreparedStatementExecutor {
    func execute<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws
        -> AsyncThrowingMapSequence<PostgresRowSequence, Statement.Row>
    {
        try await execute(statement, logger: logger, file: #fileID, line: #line)
    }
}

extension PostgresConnection: PreparedStatementExecutor {}

extension PostgresClient: PreparedStatementExecutor {
    func execute<Statement: PostgresPreparedStatement, Row>(
        _ preparedStatement: Statement, logger: Logger, file: String, line: Int
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Row> where Row == Statement.Row {
        try await execute(preparedStatement, logger: Optional(logger), file: file, line: line)
    }
}

/// The column that selects a scope, named in a prepared statement's text.
protocol ScopeColumn: Sendable {
    static var name: String { get }
}

enum CitizenColumn: ScopeColumn { static let name = "citizen_id" }
enum AuthorityColumn: ScopeColumn { static let name = "authority_id" }

/// The scope facts query, prepared once a connection, for the scopes of one column.
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
