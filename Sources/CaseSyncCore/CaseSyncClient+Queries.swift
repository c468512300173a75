import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import GRDB

/// Reads for the fronts: every case this device shows, one case in full, conflicts, dead letters, status.
extension CaseSyncClient {
    /// Every case this device shows (pulled ones with pending edits rebased, and ones filed here),
    /// newest change first.
    public func cases() throws -> [LocalCase] {
        try cases(CaseQuery()).cases
    }

    /// A page of the cases this device shows, as a screen asks for it (filtered, in order, counted),
    /// read from the device's case index.
    public func cases(_ query: CaseQuery) throws -> CasePage {
        try refreshCaseIndex()
        return try database.writer.read { db in try Self.casePage(db, query) }
    }

    static func casePage(_ db: Database, _ query: CaseQuery) throws -> CasePage {
        _ = try requireAccount(db)
        return try CaseIndex.page(db, query)
    }

    /// Brings the case index up to date if a write left cases to recompute (every write of this library
    /// does so itself; this catches an index built by other rules, or a database changed elsewhere).
    func refreshCaseIndex() throws {
        let stale = try database.writer.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM case_list_dirty) OR NOT EXISTS (SELECT 1 FROM case_list_state WHERE version = ?)",
                arguments: [CaseIndex.version]) ?? false
        }
        if stale { try database.writer.write { db in try refreshCaseIndex(db) } }
    }

    func refreshCaseIndex(_ db: Database) throws {
        try CaseIndex.refresh(db, now: environment.now(), maxTextLength: maxTextLength)
    }

    /// One case in full: its visible state, timeline, messages (pending ones last), pending edits with
    /// their predicted outcomes, its open conflicts and dead letters.
    public func detail(caseId: String) throws -> CaseDetail {
        try database.writer.read { db in try detail(caseId: caseId, db) }
    }

    func detail(caseId: String, _ db: Database) throws -> CaseDetail {
        do {
            let account = try Self.requireAccount(db)
            let rebased = try Self.rebased(
                db, caseId: caseId, actor: Self.actor(account), maxTextLength: maxTextLength,
                withEvents: true)
            guard let visible = rebased.result.visible else {
                throw ClientError(.notFound, "no case \(caseId) on this device", subject: .caseRecord)
            }
            let events = rebased.events + rebased.result.events
            let messages = try LocalDatabase.records(db, type: .message, caseId: caseId, as: CaseMessage.self)
            let conflicts = try LocalDatabase.records(db, type: .conflict, caseId: caseId, as: ConflictRecord.self)
                .filter { $0.resolution == nil }
            let register = try Self.authorityRegister(db)
            let authority = register?.authorities.first { $0.id == visible.record.authorityId }
            return CaseDetail(
                local: LocalCase(record: visible.record, serverVersion: rebased.server?.version, pendingCount: rebased.pending.count),
                events: events, messages: messages + rebased.result.messages, pending: rebased.pending,
                conflicts: conflicts, deadLetters: try LocalDatabase.deadLetters(db, caseId: caseId),
                authority: authority, authorityUnregistered: register != nil && authority == nil)
        }
    }

    /// Today in the Netherlands, by this device's clock: the day deadlines are measured against.
    public var today: CalendarDate { CalendarDate(amsterdam: environment.now()) }

    /// A case's statutory deadlines as this device shows it (pending deadline changes included).
    public func deadlines(caseId: String, today: CalendarDate? = nil) throws -> CaseDeadlines {
        let detail = try detail(caseId: caseId)
        return CaseDeadlines(record: detail.local.record, events: detail.events, today: today ?? self.today)
    }

    /// Every case this device shows with its deadlines, most urgent first (overdue, then fewest days left;
    /// paused, decided and closed cases last); with `query`, the page of it that a screen asks for (its
    /// order is always urgency).
    public func deadlineOverview(
        _ query: CaseQuery = CaseQuery(), today: CalendarDate? = nil
    ) throws -> [(case: LocalCase, deadlines: CaseDeadlines)] {
        let day = today ?? self.today
        var query = query
        query.order = .mostUrgent
        let page = try cases(query).cases
        let ids = page.filter { $0.pendingCount == 0 }.map(\.id)
        let events = try database.writer.read { db in try LocalDatabase.events(db, caseIds: ids).byCase }
        return try page.map { local in
            // A case with edits not yet synced may have a pending deadline change: read it in full.
            let deadlines = local.pendingCount > 0
                ? try deadlines(caseId: local.id, today: day)
                : CaseDeadlines(record: local.record, events: events[local.id] ?? [], today: day)
            return (local, deadlines)
        }
    }

    /// Finds the one case whose id starts with `prefix` (ids are long; people type the first characters).
    public func caseId(matching prefix: String) throws -> String {
        let needle = prefix.lowercased()
        guard needle.count >= 4 else {
            throw ClientError(.invalidInput, "give at least the first 4 characters of the case id", subject: .caseRecord)
        }
        try refreshCaseIndex()
        let matches = try database.writer.read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM case_list WHERE id >= ? AND id < ? ORDER BY id LIMIT 10",
                arguments: [needle, needle + "\u{10FFFF}"])
        }
        switch matches.count {
        case 1: return matches[0]
        case 0: throw ClientError(.notFound, "no case on this device starts with \(prefix)", subject: .caseRecord)
        default: throw ClientError(.ambiguous, "\(matches.count == 10 ? "10 or more" : "\(matches.count)") cases start with \(prefix); give more characters", subject: .caseRecord)
        }
    }

    /// Conflict records still open, oldest first.
    public func openConflicts() throws -> [ConflictRecord] {
        try database.writer.read { db in
            try LocalDatabase.records(db, type: .conflict, as: ConflictRecord.self).filter { $0.resolution == nil }
                .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }

    /// Finds the one open conflict whose id starts with `prefix`.
    public func conflictId(matching prefix: String) throws -> String {
        let matches = try openConflicts().map(\.id).filter { $0.hasPrefix(prefix.lowercased()) }
        switch matches.count {
        case 1: return matches[0]
        case 0: throw ClientError(.notFound, "no open conflict starts with \(prefix)", subject: .conflict)
        default: throw ClientError(.ambiguous, "\(matches.count) conflicts start with \(prefix); give more characters", subject: .conflict)
        }
    }

    /// Mutations the server rejected.
    public func deadLetters() throws -> [DeadLetter] {
        try database.writer.read { db in try LocalDatabase.deadLetters(db) }
    }

    /// Mutations waiting to be pushed, with their predicted outcomes.
    public func pendingMutations() throws -> [PendingMutation] {
        try database.writer.read { db in try LocalDatabase.pending(db) }
    }

    /// Where this device's sync stands.
    public func status() throws -> SyncStatus {
        try database.writer.read { db in try Self.status(db) }
    }

    static func status(_ db: Database) throws -> SyncStatus {
        do {
            let account = try Self.requireAccount(db)
            let count = { (sql: String) in try Int.fetchOne(db, sql: sql) ?? 0 }
            let conflicts = try LocalDatabase.records(db, type: .conflict, as: ConflictRecord.self).filter { $0.resolution == nil }
            return SyncStatus(
                serverURL: account.serverURL, accountName: account.account.displayName, role: account.account.role,
                authorityId: account.account.authorityId, clientId: account.clientId, lastSyncAt: account.lastSyncAt,
                lastSyncError: account.lastSyncError, pending: try count("SELECT COUNT(*) FROM outbox"),
                deadLetters: try count("SELECT COUNT(*) FROM dead_letters"), openConflicts: conflicts.count,
                cases: try count("SELECT COUNT(*) FROM records WHERE type = 'case'"), signedOut: account.signedOut)
        }
    }

    /// The checksum of the server state this device holds (what the server's checksum must match).
    public func localChecksum() throws -> StateChecksum {
        try database.writer.read { db in try Self.checksum(db) }
    }

    /// The server state this device holds, record by record in sequence order, with each record's data
    /// as the protocol's JSON (for audits, exports and convergence checks); with `seq`, only what came
    /// after that place (what a sync brought).
    public func serverCopy(after seq: Int64 = 0) throws -> [StoredRecord] {
        try database.writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT type, id, case_id, version, seq, body FROM records WHERE seq > ? ORDER BY seq", arguments: [seq]
            ).compactMap { row in
                guard let type = RecordType(rawValue: row["type"]) else { return nil }
                return StoredRecord(
                    type: type, id: row["id"], caseId: row["case_id"], version: row["version"], seq: row["seq"], data: row["body"])
            }
        }
    }

    static func checksum(_ db: Database) throws -> StateChecksum {
        var accumulator = ChecksumAccumulator()
        let cursor = try Row.fetchCursor(db, sql: "SELECT type, id, version FROM records")
        while let row = try cursor.next() {
            guard let type = RecordType(rawValue: row[0]) else { continue }
            accumulator.add(type: type, id: row[1], version: row[2])
        }
        return accumulator.checksum
    }
}
