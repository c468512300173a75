import CaseSyncProtocol
import Foundation
import GRDB

extension SQLiteSyncStore {
    public func pull(after cursor: Int64, limit: Int, session: Session) async throws -> RawPullResponse {
        let (column, scope) = Self.scopeFilter(session.account)
        let maxPageBytes = limits.maxPageBytes
        return try await writer.read { db in
            // Only the caller's own scope is consulted, so neither the cursor nor these checks tell
            // anything about other people's cases. A record's seq only grows and it never leaves its
            // scope, so a genuine cursor is never past the scope's latest change (or its compaction
            // horizon, which a cursor may reach once the tombstones below it are gone).
            // One statement for the scope's horizon, latest change and checksum.
            let facts = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT (SELECT compacted_through FROM scope_horizons WHERE scope = ?1),
                               (SELECT MAX(seq) FROM records WHERE \(column) = ?2),
                               (SELECT count FROM scope_digests WHERE scope = ?1),
                               (SELECT sum FROM scope_digests WHERE scope = ?1)
                        """),
                arguments: [scope.key, scope.value])
            let horizon = facts?[0] as Int64? ?? 0
            let latest = facts?[1] as Int64? ?? 0
            let scopeChecksum = StateChecksum(count: facts?[2] as Int64? ?? 0, sum: UInt64(bitPattern: facts?[3] as Int64? ?? 0))
            guard cursor <= max(latest, horizon) else {
                throw ServiceError(
                    .resyncRequired, "this cursor is not from this server's history; pull again from the start")
            }
            guard cursor == 0 || cursor >= horizon else {
                throw ServiceError(
                    .resyncRequired, "deletions older than this cursor were compacted away; pull again from the start",
                    details: ["compactedThrough": String(horizon)])
            }
            // Nothing after the cursor: the common "anything new?" sync reads no rows at all. A page
            // stops at `limit` changes or before the change that would take it past `maxPageBytes`
            // (it always carries one), so no page makes the server hold more than the budget.
            var changes: [RawPullResponse.Change] = []
            var hasMore = false
            if cursor < latest {
                let rows = try Row.fetchCursor(
                    db.cachedStatement(
                        sql: "SELECT seq, type, id, case_id, version, deleted, body FROM records WHERE \(column) = ? AND seq > ? ORDER BY seq LIMIT ?"),
                    arguments: [scope.value, cursor, limit + 1])
                var bytes = 0
                while let row = try rows.next() {
                    let change = try Self.change(from: row)
                    bytes += Self.changeOverheadBytes + (change.data?.count ?? 0)
                    if changes.count == limit || (!changes.isEmpty && bytes > maxPageBytes) {
                        hasMore = true
                        break
                    }
                    changes.append(change)
                }
            }
            // The last page moves the cursor past the compaction horizon, so the next pull is incremental.
            let newCursor = hasMore ? changes.last!.seq : max(changes.last?.seq ?? cursor, horizon)
            let checksum = hasMore ? nil : scopeChecksum
            return RawPullResponse(changes: changes, cursor: String(newCursor), hasMore: hasMore, checksum: checksum)
        }
    }

    /// What a change adds to a page besides its record: its envelope (seq, type, ids, version).
    static let changeOverheadBytes = 200

    /// The column and value that select a session's scope, and the scope's digest key.
    static func scopeFilter(_ account: AccountInfo) -> (column: String, scope: (value: String, key: String)) {
        switch account.role {
        case .citizen: ("citizen_id", (account.id, ScopeKey.citizen(account.id)))
        case .officer:
            ("authority_id", (account.authorityId ?? "", ScopeKey.authority(account.authorityId ?? "")))
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
