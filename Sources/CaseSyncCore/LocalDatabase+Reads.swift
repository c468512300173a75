import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import GRDB

/// Reads of the local database, shared by edits, queries and sync.
extension LocalDatabase {
    static func serverCase(_ db: Database, id: String) throws -> VersionedCase? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT version, body FROM records WHERE id = ? AND type = 'case'"), arguments: [id])
        else { return nil }
        return VersionedCase(record: try CaseRecord(json: row["body"]), version: row["version"])
    }

    static func serverCases(_ db: Database) throws -> [VersionedCase] {
        try Row.fetchAll(db, sql: "SELECT version, body FROM records WHERE type = 'case'").map {
            VersionedCase(record: try CaseRecord(json: $0["body"]), version: $0["version"])
        }
    }

    static func pending(_ db: Database, caseId: String? = nil) throws -> [PendingMutation] {
        let rows =
            if let caseId {
                try Row.fetchAll(
                    db, sql: "SELECT body, created_at FROM outbox WHERE case_id = ? ORDER BY mutation_id", arguments: [caseId])
            } else {
                try Row.fetchAll(db, sql: "SELECT body, created_at FROM outbox ORDER BY mutation_id")
            }
        return try rows.map {
            PendingMutation(
                mutation: try decoder.decode(Mutation.self, from: $0["body"] as Data),
                createdAt: Timestamp(millisecondsSince1970: $0["created_at"]), predicted: nil)
        }
    }

    static func records<T: Decodable>(_ db: Database, type: RecordType, caseId: String? = nil, as: T.Type) throws -> [T] {
        let rows =
            if let caseId {
                try Row.fetchAll(
                    db, sql: "SELECT body FROM records WHERE type = ? AND case_id = ? ORDER BY seq",
                    arguments: [type.rawValue, caseId])
            } else {
                try Row.fetchAll(db, sql: "SELECT body FROM records WHERE type = ? ORDER BY seq", arguments: [type.rawValue])
            }
        return try rows.map { try decoder.decode(T.self, from: $0["body"] as Data) }
    }

    /// The timeline of each of the cases `caseIds`, in sequence order, and the cases with an event this
    /// version cannot read (a later server's new value), which the case index leaves out.
    static func events(_ db: Database, caseIds: [String]) throws -> (byCase: [String: [TimelineEvent]], unreadable: Set<String>) {
        var byCase: [String: [TimelineEvent]] = [:]
        var unreadable: Set<String> = []
        try inChunks(caseIds) { chunk, marks in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT case_id, body FROM records WHERE case_id IN (\(marks)) AND type = 'event' ORDER BY seq",
                arguments: StatementArguments(chunk))
            while let row = try rows.next() {
                if let event = try? TimelineEvent(json: row[1]) { byCase[row[0], default: []].append(event) } else { unreadable.insert(row[0]) }
            }
        }
        return (byCase, unreadable)
    }

    /// Calls `body` with each run of at most `size` of `ids` and the `?,?,…` of its IN list.
    static func inChunks(_ ids: [String], size: Int = 500, _ body: (_ chunk: [String], _ marks: String) throws -> Void) rethrows {
        for start in stride(from: 0, to: ids.count, by: size) {
            let chunk = Array(ids[start..<min(start + size, ids.count)])
            try body(chunk, Array(repeating: "?", count: chunk.count).joined(separator: ","))
        }
    }

    static func conflictsById(_ db: Database, caseId: String? = nil) throws -> [String: ConflictRecord] {
        let all = try records(db, type: .conflict, caseId: caseId, as: ConflictRecord.self)
        return Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })
    }

    static func deadLetters(_ db: Database, caseId: String? = nil) throws -> [DeadLetter] {
        let rows =
            if let caseId {
                try Row.fetchAll(db, sql: "SELECT * FROM dead_letters WHERE case_id = ? ORDER BY mutation_id", arguments: [caseId])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM dead_letters ORDER BY mutation_id")
            }
        return try rows.map {
            DeadLetter(
                mutation: try decoder.decode(Mutation.self, from: $0["body"] as Data),
                code: ErrorCode($0["code"] as String), message: $0["message"],
                rejectedAt: Timestamp(millisecondsSince1970: $0["rejected_at"]))
        }
    }

    static let decoder = WireCoding.decoder()
    static let encoder = WireCoding.encoder()
}

extension CaseSyncClient {
    /// The case as this device shows it, with the predictions for its pending mutations. Its timeline is
    /// read when asked for or when a pending deadline change needs it to be predicted (empty otherwise).
    static func rebased(
        _ db: Database, caseId: String, actor: MutationActor, maxTextLength: Int, withEvents: Bool = false
    ) throws -> (server: VersionedCase?, pending: [PendingMutation], result: PendingRebase.Result, events: [TimelineEvent]) {
        let server = try LocalDatabase.serverCase(db, id: caseId)
        var pending = try LocalDatabase.pending(db, caseId: caseId)
        let needsEvents = withEvents || pending.contains { if case .deadline = $0.mutation.operation { true } else { false } }
        // Records come in server sequence order, which is the order things happened on the server.
        let events = needsEvents ? try LocalDatabase.records(db, type: .event, caseId: caseId, as: TimelineEvent.self) : []
        let attaches = pending.contains { if case .attach = $0.mutation.operation { true } else { false } }
        let result = PendingRebase.rebase(
            server: server, pending: pending, actor: actor,
            conflicts: try LocalDatabase.conflictsById(db, caseId: caseId), maxTextLength: maxTextLength, events: events,
            files: attaches ? try LocalDatabase.pendingFiles(db) : [:],
            caseFileBytes: attaches ? try LocalDatabase.records(db, type: .attachment, caseId: caseId, as: AttachmentRecord.self)
                .reduce(0) { $0 + $1.size } : 0)
        for index in pending.indices { pending[index].predicted = result.predictions[index] }
        return (server, pending, result, events)
    }
}
