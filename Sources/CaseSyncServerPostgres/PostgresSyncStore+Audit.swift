import CaseSyncProtocol
import CaseSyncServer
import PostgresNIO

/// The audit trail on PostgreSQL: appended in the transaction of what it records, in one statement.
extension PostgresSyncStore {
    static func appendAudit(_ entries: [AuditEntry], _ connection: PostgresConnection, logger: Logger) async throws {
        guard !entries.isEmpty else { return }
        // Arrays of text cannot hold NULL from here: an absent value travels as '' and is stored as NULL.
        let text = { (value: KeyPath<AuditEntry, String?>) in entries.map { $0[keyPath: value] ?? "" } }
        try await connection.query(
            """
            INSERT INTO audit_log (\(unescaped: AuditEntry.columns))
            SELECT at, actor, NULLIF(account, ''), NULLIF(client, ''), NULLIF(address, ''), action, NULLIF(subject, ''),
                NULLIF(case_id, ''), NULLIF(operation, ''), NULLIF(fields, ''), NULLIF(outcome, '')
            FROM UNNEST(\(entries.map(\.at.millisecondsSince1970))::BIGINT[], \(entries.map(\.actor.rawValue))::TEXT[],
                \(text(\.accountId))::TEXT[], \(text(\.clientId))::TEXT[], \(text(\.address))::TEXT[],
                \(entries.map(\.action.rawValue))::TEXT[], \(text(\.subject))::TEXT[], \(text(\.caseId))::TEXT[],
                \(text(\.operation))::TEXT[], \(text(\.storedFields))::TEXT[], \(text(\.outcome))::TEXT[])
                AS e(at, actor, account, client, address, action, subject, case_id, operation, fields, outcome)
            """, logger: logger)
    }

    public func audit(_ query: AuditQuery, after: Int64, limit: Int) async throws -> [AuditEntry] {
        let (column, value) = query.selection
        let rows = try await client.query(
            """
            SELECT id, \(unescaped: AuditEntry.columns) FROM audit_log WHERE \(unescaped: column) = \(value) AND id > \(after)
            ORDER BY id LIMIT \(Int64(limit))
            """, logger: logger)
        var entries: [AuditEntry] = []
        for try await row in rows {
            var cells = CellReader(row)
            let id = try cells.int64() ?? 0
            let at = try cells.int64() ?? 0
            let actor = AuditEntry.Actor(rawValue: try cells.string() ?? "") ?? .server
            let (account, client, address) = (try cells.string(), try cells.string(), try cells.string())
            let action = AuditAction(rawValue: try cells.string() ?? "")
            let (subject, caseId, operation, fields, outcome) =
                (try cells.string(), try cells.string(), try cells.string(), try cells.string(), try cells.string())
            entries.append(
                AuditEntry(
                    id: id, at: Timestamp(millisecondsSince1970: at), actor: actor, accountId: account, clientId: client, address: address,
                    action: action, subject: subject, caseId: caseId, operation: operation, fields: AuditEntry.fields(stored: fields),
                    outcome: outcome))
        }
        return entries
    }
}
