import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import GRDB

/// What a screen of cases asks for: a page of the cases this device shows, filtered and in order.
public struct CaseQuery: Sendable, Hashable {
    public enum Order: Sendable, Hashable {
        /// Newest change first (the order of `cases()`).
        case recentlyChanged
        /// Most urgent statutory deadline first: overdue, then fewest days left; paused, then decided,
        /// closed and draft cases last (the order of `deadlineOverview`).
        case mostUrgent
    }

    public var status: CaseStatus?
    public var authorityId: String?
    /// Words the case's id, decision reference or title contain (case-insensitive), each of them.
    public var search: String?
    public var order: Order
    /// The most cases on the page; nil: all.
    public var limit: Int?
    /// Cases skipped before the page.
    public var offset: Int

    public init(
        status: CaseStatus? = nil, authorityId: String? = nil, search: String? = nil, order: Order = .recentlyChanged,
        limit: Int? = nil, offset: Int = 0
    ) {
        self.status = status
        self.authorityId = authorityId
        self.search = search
        self.order = order
        self.limit = limit
        self.offset = offset
    }
}

/// One page of cases and how many match in all.
public struct CasePage: Sendable, Hashable {
    public var cases: [LocalCase]
    public var total: Int
}

/// The device's index of its cases: one row per case it shows, with what screens filter and sort by
/// (status, authority, last change, deadline urgency, search text) kept current in the transaction that
/// changes it — a pulled page, a local edit, a push's answer. SQLite triggers note every case whose
/// records or pending edits change (`case_list_dirty`), so no write path can leave a row stale; `refresh`
/// recomputes those rows. A case with pending edits keeps its visible (rebased) record in the row.
enum CaseIndex {
    /// Changes when what a row derives changes (its rules, or the designated days deadlines count):
    /// a device whose index was built otherwise rebuilds it on first use.
    static var version: String { "1; " + WorkingDays().designated.version }

    static let schema = """
        CREATE TABLE case_list (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            authority_id TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            urgency INTEGER NOT NULL,
            search TEXT NOT NULL,
            pending INTEGER NOT NULL,
            server_version INTEGER,
            visible BLOB
        );
        -- The two orders, carrying the filters' columns: a page is found in the index, and only its rows are read.
        CREATE INDEX case_list_recent ON case_list(updated_at, id, status, authority_id);
        CREATE INDEX case_list_urgent ON case_list(urgency, id, status, authority_id);
        -- Counts by status and authority.
        CREATE INDEX case_list_status ON case_list(status, authority_id);
        -- Cases to recompute. (A trigger's INSERT OR IGNORE would take the conflict rule of the statement
        -- that fired it, so the triggers look before they add.)
        CREATE TABLE case_list_dirty (id TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE case_list_state (id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL);
        CREATE TRIGGER case_list_record_added AFTER INSERT ON records WHEN NEW.type IN ('case', 'event', 'conflict')
            BEGIN INSERT INTO case_list_dirty (id) SELECT NEW.case_id WHERE NOT EXISTS (SELECT 1 FROM case_list_dirty WHERE id = NEW.case_id); END;
        CREATE TRIGGER case_list_record_changed AFTER UPDATE OF body ON records WHEN NEW.type IN ('case', 'event', 'conflict')
            BEGIN INSERT INTO case_list_dirty (id) SELECT NEW.case_id WHERE NOT EXISTS (SELECT 1 FROM case_list_dirty WHERE id = NEW.case_id); END;
        CREATE TRIGGER case_list_record_removed AFTER DELETE ON records WHEN OLD.type IN ('case', 'event', 'conflict')
            BEGIN INSERT INTO case_list_dirty (id) SELECT OLD.case_id WHERE NOT EXISTS (SELECT 1 FROM case_list_dirty WHERE id = OLD.case_id); END;
        CREATE TRIGGER case_list_edit_added AFTER INSERT ON outbox
            BEGIN INSERT INTO case_list_dirty (id) SELECT NEW.case_id WHERE NOT EXISTS (SELECT 1 FROM case_list_dirty WHERE id = NEW.case_id); END;
        CREATE TRIGGER case_list_edit_changed AFTER UPDATE OF body ON outbox
            BEGIN INSERT INTO case_list_dirty (id) SELECT NEW.case_id WHERE NOT EXISTS (SELECT 1 FROM case_list_dirty WHERE id = NEW.case_id); END;
        CREATE TRIGGER case_list_edit_removed AFTER DELETE ON outbox
            BEGIN INSERT INTO case_list_dirty (id) SELECT OLD.case_id WHERE NOT EXISTS (SELECT 1 FROM case_list_dirty WHERE id = OLD.case_id); END;
        """

    /// Recomputes the rows of every case noted as changed (and all of them when the index was built by
    /// other rules, or not yet: a device's first use after the migration builds it). Runs inside the
    /// caller's transaction.
    static func refresh(_ db: Database, now: Timestamp, maxTextLength: Int) throws {
        if try String.fetchOne(db, sql: "SELECT version FROM case_list_state") != version {
            try db.execute(sql: "DELETE FROM case_list")
            try db.execute(
                sql: "INSERT OR IGNORE INTO case_list_dirty (id) SELECT case_id FROM records WHERE type = 'case' UNION SELECT case_id FROM outbox")
            try db.execute(sql: "INSERT OR REPLACE INTO case_list_state (id, version) VALUES (1, ?)", arguments: [version])
        }
        let ids = try String.fetchAll(db, sql: "SELECT id FROM case_list_dirty")
        guard !ids.isEmpty else { return }
        try db.execute(sql: "DELETE FROM case_list_dirty")
        guard let account = try CaseSyncClient.account(db) else {
            try db.execute(sql: "DELETE FROM case_list")
            return
        }
        let actor = CaseSyncClient.actor(account)
        let today = CalendarDate(amsterdam: now)
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO case_list (id, status, authority_id, updated_at, urgency, search, pending, server_version, visible)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET status = excluded.status, authority_id = excluded.authority_id,
                    updated_at = excluded.updated_at, urgency = excluded.urgency, search = excluded.search, pending = excluded.pending,
                    server_version = excluded.server_version, visible = excluded.visible
                """)
        let remove = try db.cachedStatement(sql: "DELETE FROM case_list WHERE id = ?")
        try LocalDatabase.inChunks(ids) { chunk, marks in
            let arguments = StatementArguments(chunk)
            // A record this version cannot read (a later server's new value) leaves its case out of the
            // index; it never stops the pull or the edit whose transaction this is.
            let timelines = try LocalDatabase.events(db, caseIds: chunk)
            let events = timelines.byCase
            var unreadable = timelines.unreadable
            var servers: [String: VersionedCase] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, version, body FROM records WHERE id IN (\(marks)) AND +type = 'case'", arguments: arguments) {
                if let record = try? CaseRecord(json: row[2]) { servers[row[0]] = VersionedCase(record: record, version: row[1]) } else { unreadable.insert(row[0]) }
            }
            let withPending = Set(try String.fetchAll(db, sql: "SELECT DISTINCT case_id FROM outbox WHERE case_id IN (\(marks))", arguments: arguments))
            for id in chunk {
                var visible = servers[id]?.record
                var timeline = events[id] ?? []
                var pending = 0
                var body: Data?
                if withPending.contains(id) {
                    guard let rebased = try? CaseSyncClient.rebased(
                        db, caseId: id, actor: actor, maxTextLength: maxTextLength, withEvents: true)
                    else {
                        try remove.execute(arguments: [id])
                        continue
                    }
                    visible = rebased.result.visible?.record
                    timeline = rebased.events + rebased.result.events
                    pending = rebased.pending.count
                    body = try visible.map { try LocalDatabase.encoder.encode($0) }
                }
                guard let visible, !unreadable.contains(id) else {
                    try remove.execute(arguments: [id])
                    continue
                }
                let deadlines = CaseDeadlines(record: visible, events: timeline, today: today)
                try upsert.execute(arguments: [
                    id, visible.status.rawValue, visible.authorityId, visible.updatedAt.millisecondsSince1970, deadlines.urgencyOrder,
                    searchText(visible), pending, servers[id]?.version, body,
                ])
            }
        }
    }

    /// What a search looks in: the case id, the reference of the decision objected to and the title.
    static func searchText(_ record: CaseRecord) -> String {
        [record.id, record.fields[CaseField.decisionReference.rawValue] ?? "", record.fields[CaseField.title.rawValue] ?? ""]
            .joined(separator: "\n").lowercased()
    }

    /// The page `query` asks for, with the count of every case it matches.
    static func page(_ db: Database, _ query: CaseQuery) throws -> CasePage {
        // Status and authority are looked up in an order's index as it is walked (a "+" keeps SQLite from
        // picking the status index and sorting every case of a status instead); counts use that index.
        var conditions: [(page: String, count: String)] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let status = query.status {
            conditions.append(("+l.status = ?", "l.status = ?"))
            arguments.append(status.rawValue)
        }
        if let authority = query.authorityId {
            conditions.append(("+l.authority_id = ?", "l.authority_id = ?"))
            arguments.append(authority)
        }
        let words = (query.search ?? "").lowercased().split(whereSeparator: \.isWhitespace)
        for word in words {
            // LIKE (ASCII-insensitive; both sides are lower-cased already) scans twice as fast as instr.
            conditions.append(("l.search LIKE ? ESCAPE '\\'", "l.search LIKE ? ESCAPE '\\'"))
            arguments.append("%" + word.replacing("\\", with: "\\\\").replacing("%", with: "\\%").replacing("_", with: "\\_") + "%")
        }
        let filter = { (part: KeyPath<(page: String, count: String), String>) in
            conditions.isEmpty ? "" : "WHERE " + conditions.map { $0[keyPath: part] }.joined(separator: " AND ")
        }
        // A search reads every row's text: one pass over the table that counts and sorts only what
        // matches beats walking an order's index and reading each row it names ("+ 0" keeps the index
        // out of it).
        let searching = !words.isEmpty
        let scan = searching ? " + 0" : ""
        let order = switch query.order {
        case .recentlyChanged: "l.updated_at\(scan) DESC, l.id DESC"
        case .mostUrgent: "l.urgency\(scan), l.id"
        }
        let pageArguments = StatementArguments(arguments + [query.limit ?? -1, max(0, query.offset)])
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT l.id, l.pending, l.server_version, l.visible\(searching ? ", COUNT(*) OVER () AS total" : "")
                FROM case_list l \(filter(\.page)) ORDER BY \(order) LIMIT ? OFFSET ?
                """,
            arguments: pageArguments)
        let total = try searching && !rows.isEmpty
            ? rows[0]["total"] as Int
            : Int.fetchOne(db, sql: "SELECT COUNT(*) FROM case_list l \(filter(\.count))", arguments: StatementArguments(arguments)) ?? 0
        // The server's record of each case on the page whose row does not carry its own.
        let missing = rows.filter { ($0["visible"] as Data?) == nil }.map { $0["id"] as String }
        var bodies: [String: Data] = [:]
        try LocalDatabase.inChunks(missing) { chunk, marks in
            for row in try Row.fetchAll(db, sql: "SELECT id, body FROM records WHERE id IN (\(marks))", arguments: StatementArguments(chunk)) {
                bodies[row[0]] = row[1]
            }
        }
        let cases = try rows.compactMap { row -> LocalCase? in
            guard let body = (row["visible"] as Data?) ?? bodies[row["id"]] else { return nil }
            return LocalCase(record: try CaseRecord(json: body), serverVersion: row["server_version"], pendingCount: row["pending"])
        }
        return CasePage(cases: cases, total: total)
    }
}
