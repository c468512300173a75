import CaseSyncProtocol
import CaseSyncServer
import Foundation
import PostgresNIO

extension PostgresSyncStore {
    /// The scope's facts and its changes after the cursor. A device that is up to date (the common
    /// "anything new?" sync) is answered from what the instance knows (after a barrier it shares with
    /// the others asking) or by one statement of the facts alone; a device that is behind gets its page
    /// and the facts from one statement, whose one snapshot makes the checksum always match the records
    /// a last page completes.
    public func pull(after cursor: Int64, fromStart: Bool, limit: Int, session: Session) async throws -> RawPullResponse {
        let scope = Self.scope(of: session.account)
        let (maxPageBytes, logger) = (limits.maxPageBytes, logger)
        // An up-to-date device, by what this instance knows: answered from memory once a barrier has
        // made sure nothing committed before the request is unheard (ScopeWatch).
        // The device too must still be remembered as working after the barrier: a revocation committed
        // before the request arrived has then been heard, and has taken it out.
        if let known = watch.known(scope.key), cursor >= known.latest, await watch.barrier(send: notify, logger: logger),
            sessions.holds(session), let facts = watch.known(scope.key),
            let page = try? PullPageBuilder(cursor: cursor, fromStart: fromStart, limit: limit, maxPageBytes: maxPageBytes, facts: facts), !page.needsRows
        {
            watch.countAnswerFromMemory()
            return page.response
        }
        try ensureRunning()
        // A read is asked again (twice at most) when its connection is lost under it, as on a failover or
        // when the listener's connection is closed: reads change nothing, and the device need not retry.
        var attempt = 0
        while true {
            do {
                return try await read(scope, client: session.clientId, after: cursor, fromStart: fromStart, limit: limit, maxPageBytes: maxPageBytes)
            } catch let error as PSQLError where attempt < 2 && Self.isLostConnection(error) {
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...50)))
                try ensureRunning()
            }
        }
    }

    /// One read of a pull from the database; its statement reads the device too.
    private func read(_ scope: Scope, client: String, after cursor: Int64, fromStart: Bool, limit: Int, maxPageBytes: Int) async throws
        -> RawPullResponse
    {
        let read = watch.beginRead(scope.key)
        // The facts alone first (a statement PostgreSQL plans once for every scope), unless this instance
        // knows the device is behind: its page reads them again anyway.
        if watch.known(scope.key).map({ cursor >= $0.latest }) ?? true {
            let (facts, device) = try await Self.facts(scope, client: client, on: self.client, logger: logger)
            try SessionRules.checkActive(device)
            if let read { watch.finishRead(scope.key, token: read, facts: facts) }
            let quick = try PullPageBuilder(cursor: cursor, fromStart: fromStart, limit: limit, maxPageBytes: maxPageBytes, facts: facts)
            guard quick.needsRows else { return quick.response }
        }
        var page: PullPageBuilder?
        for try await row in try await Self.page(scope, client: client, after: cursor, rows: limit + 1, on: self.client, logger: logger) {
            if page == nil {
                try SessionRules.checkActive(row.device)
                if let read { watch.finishRead(scope.key, token: read, facts: row.facts) }
                page = try PullPageBuilder(cursor: cursor, fromStart: fromStart, limit: limit, maxPageBytes: maxPageBytes, facts: row.facts)
            }
            if let change = row.change, !page!.offer(change) { break }
        }
        guard let page else { throw ServiceError(.internalError, "the scope's facts were not read") }
        return page.response
    }

    /// Whether a statement failed because its connection was lost (not because of the statement): closed
    /// under it, or ended by PostgreSQL (57P01-57P03: an administrator, a crash of another backend, a
    /// restart; class 08: the connection itself).
    static func isLostConnection(_ error: PSQLError) -> Bool {
        if [.serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .connectionError].contains(error.code) { return true }
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return false }
        return ["57P01", "57P02", "57P03"].contains(state) || state.hasPrefix("08")
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

    /// The scope's horizon, latest change and checksum, and the device's standing
    /// (`SessionRules.deviceStateSQL`), by one statement each connection prepares once: the sync of an
    /// up-to-date device is one round trip that PostgreSQL neither parses nor plans again.
    static func facts(_ scope: Scope, client: String, on connections: PostgresClient, logger: Logger) async throws
        -> (PullPageBuilder.ScopeFacts, device: String?)
    {
        var row: ScopeFacts<CitizenColumn>.Row = (nil, nil, nil, nil, nil)
        if scope.column == CitizenColumn.name {
            let statement = ScopeFacts<CitizenColumn>(key: scope.key, value: scope.value, client: client)
            for try await found in try await connections.execute(statement, logger: logger) { row = found }
        } else {
            let statement = ScopeFacts<AuthorityColumn>(key: scope.key, value: scope.value, client: client)
            for try await found in try await connections.execute(statement, logger: logger) { row = found }
        }
        return (facts(row.0, row.1, row.2, row.3), row.4)
    }

    static func facts(_ horizon: Int64?, _ latest: Int64?, _ count: Int64?, _ sum: Int64?) -> PullPageBuilder.ScopeFacts {
        PullPageBuilder.ScopeFacts(
            horizon: horizon ?? 0, latest: latest ?? 0, checksum: StateChecksum(count: count ?? 0, sum: UInt64(bitPattern: sum ?? 0)))
    }

    /// The scope's facts and its first `rows` changes after the cursor, in one statement (one round trip a page).
    static func page(_ scope: Scope, client: String, after cursor: Int64, rows: Int, on connections: PostgresClient, logger: Logger)
        async throws -> AsyncThrowingMapSequence<PostgresRowSequence, ScopePageRow>
    {
        scope.column == CitizenColumn.name
            ? try await connections.execute(
                ScopePage(facts: ScopeFacts<CitizenColumn>(key: scope.key, value: scope.value, client: client), cursor: cursor, rows: rows),
                logger: logger)
            : try await connections.execute(
                ScopePage(facts: ScopeFacts<AuthorityColumn>(key: scope.key, value: scope.value, client: client), cursor: cursor, rows: rows),
                logger: logger)
    }
}

/// The column that selects a scope, named in a prepared statement's text.
protocol ScopeColumn: Sendable {
    static var name: String { get }
}

enum CitizenColumn: ScopeColumn { static let name = "citizen_id" }
enum AuthorityColumn: ScopeColumn { static let name = "authority_id" }

/// The scope facts query, prepared once a connection, for the scopes of one column; it reads the
/// asking device's standing too.
struct ScopeFacts<Column: ScopeColumn>: PostgresPreparedStatement {
    typealias Row = (Int64?, Int64?, Int64?, Int64?, String?)
    static var sql: String {
        """
        SELECT GREATEST((SELECT compacted_through FROM scope_horizons WHERE scope = $1),
                        (SELECT restored_floor FROM change_feed WHERE id = 1)),
               (SELECT MAX(seq) FROM records WHERE \(Column.name) = $2),
               (SELECT count FROM scope_digests WHERE scope = $1),
               (SELECT sum FROM scope_digests WHERE scope = $1),
               \(SessionRules.deviceStateSQL("$3"))
        """
    }
    let key: String
    let value: String
    let client: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(key)
        bindings.append(value)
        bindings.append(client)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// A row of a scope's page: the scope's facts, the device's standing, and one change (none when nothing
/// follows the cursor).
struct ScopePageRow: Sendable {
    let facts: PullPageBuilder.ScopeFacts
    let device: String?
    let change: RawPullResponse.Change?
}

/// The page query, prepared once a connection, for the scopes of one column: the facts and the changes
/// after the cursor. One statement sees one snapshot, so they agree. The changes are asked for as the
/// range of the scope's index from (scope, cursor) to the scope's end, in that index's order: a plan
/// made once for every scope and cursor (a generic plan) then walks that index, never the whole feed's
/// seq index filtered by scope, which is what a plain `scope = $2 AND seq > $3 ORDER BY seq` may get.
struct ScopePage<Column: ScopeColumn>: PostgresPreparedStatement {
    typealias Row = ScopePageRow
    static var sql: String {
        """
        SELECT f.*, r.seq, r.type, r.id, r.case_id, r.version, r.deleted, r.body
        FROM (\(ScopeFacts<Column>.sql)) f(horizon, latest, count, sum, device)
        LEFT JOIN (SELECT seq, type, id, case_id, version, deleted, body FROM records
                   WHERE (\(Column.name), seq) > ($2, $4) AND \(Column.name) <= $2
                   ORDER BY \(Column.name), seq LIMIT $5) r ON true
        ORDER BY r.seq
        """
    }
    /// The facts' statement, whose text and bindings ($1-$3) this one begins with.
    let facts: ScopeFacts<Column>
    let cursor: Int64
    let rows: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = try facts.makeBindings()
        bindings.append(cursor)
        bindings.append(Int64(rows))
        return bindings
    }

    /// Cell by cell, each as its own type: a page has thousands of rows, and decoding a whole tuple
    /// at once goes through generic code for every cell of every row.
    func decodeRow(_ row: PostgresRow) throws -> Row {
        var cells = CellReader(row)
        let facts = PostgresSyncStore.facts(try cells.int64(), try cells.int64(), try cells.int64(), try cells.int64())
        let device = try cells.string()
        guard let seq = try cells.int64() else { return ScopePageRow(facts: facts, device: device, change: nil) }
        guard let type = RecordType(rawValue: try cells.string() ?? "") else {
            throw ServiceError(.internalError, "a stored record has an unknown type")
        }
        guard let id = try cells.string(), let caseId = try cells.string(), let version = try cells.int64(),
            let deleted = try cells.bool()
        else { throw ServiceError(.internalError, "a stored record lacks a column it must have") }
        let body = try cells.data()
        return ScopePageRow(
            facts: facts, device: device,
            change: RawPullResponse.Change(
                seq: seq, type: type, id: id, caseId: caseId, version: version, deleted: deleted, data: deleted ? nil : body))
    }
}

/// Reads a row's cells in order, straight from the binary form postgres-nio asks PostgreSQL for, and
/// through postgres-nio's own decoding for any other form or type.
struct CellReader {
    private var cells: PostgresRow.Iterator

    init(_ row: PostgresRow) { cells = row.makeIterator() }

    private mutating func next() throws -> PostgresCell {
        guard let cell = cells.next() else { throw ServiceError(.internalError, "a row has fewer columns than its statement") }
        return cell
    }

    mutating func int64() throws -> Int64? {
        let cell = try next()
        guard let bytes = cell.bytes else { return nil }
        guard cell.format == .binary, cell.dataType == .int8, bytes.readableBytes == 8 else { return try cell.decode(Int64.self) }
        return bytes.getInteger(at: bytes.readerIndex, as: Int64.self)
    }

    mutating func bool() throws -> Bool? {
        let cell = try next()
        guard let bytes = cell.bytes else { return nil }
        guard cell.format == .binary, cell.dataType == .bool, bytes.readableBytes == 1 else { return try cell.decode(Bool.self) }
        return bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) != 0
    }

    mutating func string() throws -> String? {
        let cell = try next()
        guard let bytes = cell.bytes else { return nil }
        guard cell.format == .binary, cell.dataType == .text else { return try cell.decode(String.self) }
        return bytes.getString(at: bytes.readerIndex, length: bytes.readableBytes)
    }

    mutating func data() throws -> Data? {
        let cell = try next()
        guard let bytes = cell.bytes else { return nil }
        guard cell.format == .binary, cell.dataType == .bytea else { return try cell.decode(Data.self) }
        return Data(bytes.readableBytesView)
    }
}
