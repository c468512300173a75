import CaseSyncProtocol
import CaseSyncServer
import GRDB

/// The audit trail on SQLite: appended in the transaction of what it records.
extension SQLiteSyncStore {
    static func appendAudit(_ entries: [AuditEntry], _ db: Database) throws {
        guard !entries.isEmpty else { return }
        let insert = try db.cachedStatement(sql: "INSERT INTO audit_log (\(AuditEntry.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        for entry in entries {
            try insert.execute(arguments: [
                entry.at.millisecondsSince1970, entry.actor.rawValue, entry.accountId, entry.clientId, entry.address, entry.action.rawValue,
                entry.subject, entry.caseId, entry.operation, entry.storedFields, entry.outcome,
            ])
        }
    }

    /// Appends what the operator did, in a transaction of its own.
    func appendAudit(_ entries: [AuditEntry]) async throws {
        try await writer.write { db in try Self.appendAudit(entries, db) }
    }

    public func audit(_ query: AuditQuery, after: Int64, limit: Int) async throws -> [AuditEntry] {
        let (column, value) = query.selection
        return try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, \(AuditEntry.columns) FROM audit_log WHERE \(column) = ? AND id > ? ORDER BY id LIMIT ?",
                arguments: [value, after, limit]
            ).map { row in
                AuditEntry(
                    id: row[0], at: Timestamp(millisecondsSince1970: row[1]), actor: AuditEntry.Actor(rawValue: row[2]) ?? .server,
                    accountId: row[3], clientId: row[4], address: row[5], action: AuditAction(rawValue: row[6]), subject: row[7],
                    caseId: row[8], operation: row[9], fields: AuditEntry.fields(stored: row[10]), outcome: row[11])
            }
        }
    }
}
