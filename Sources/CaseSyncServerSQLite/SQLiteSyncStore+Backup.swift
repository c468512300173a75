import CaseSyncProtocol
import CaseSyncSQLite
import CaseSyncServer
import Foundation
import GRDB

/// Backups while serving, and restores (RestoreRules).
extension SQLiteSyncStore {
    /// Copies the database, as one consistent snapshot, to a new file at `path` (readable by this user
    /// only) while the server goes on serving: SQLite's online backup, from a reader.
    public func backup(to path: String) async throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw ServiceError(.invalidRequest, "\(path) exists already; give a new file name")
        }
        do {
            try OwnerOnlyFiles.prepareDatabase(at: path)
        } catch {
            throw ServiceError(.invalidRequest, "cannot create \(path): check the directory and its permissions")
        }
        let target = try DatabaseQueue(path: path)
        try writer.backup(to: target)
        // One self-contained file (the copy took the log mode of the database it copies).
        try await target.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        try target.close()
        // The files the copy's attachments name: beside it (blobs never change, so after the snapshot is fine).
        if let files = blobs as? FileBlobStore { try await files.copyBlobs(to: URL(fileURLWithPath: path + ".files")) }
        // A copy of everyone's data left the server: the trail says so (after the copy, so not in it).
        var entry = AuditEntry.byOperator(at: environment.now(), .backup)
        entry.outcome = "to \(URL(fileURLWithPath: path).lastPathComponent)"
        try await appendAudit([entry])
    }

    public func markRestored() async throws -> Int64 {
        let now = environment.now()
        defer { changes.changedEverything() }
        return try await writer.write { db in
            let last = try Self.nextPlace(db) - 1
            let floor = RestoreRules.floor(after: last)
            // Every record moves above the floor, in its order: a pull from the start then never hands out
            // a cursor below it (which would be refused on its next page).
            try db.execute(sql: "UPDATE records SET seq = seq + ?", arguments: [floor])
            try db.execute(sql: "UPDATE server_state SET restored_floor = ?, last_seq = ?", arguments: [floor, last + floor])
            try db.execute(sql: "UPDATE devices SET gap_allowed = 1")
            try Self.appendAudit([RestoreRules.entry(floor: floor, at: now)], db)
            return floor
        }
    }

    /// Whether the file at `path` is a CaseSync server database that SQLite finds intact.
    public static func checkBackup(at path: String) throws {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ServiceError(.invalidRequest, "cannot read \(path): check the path and its permissions")
        }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let (integrity, tables) = try queue.read { db in
                (try String.fetchOne(db, sql: "PRAGMA integrity_check"), try db.tableExists("records") && db.tableExists("accounts"))
            }
            try queue.close()
            guard integrity == "ok", tables else { throw ServiceError(.invalidRequest, "") }
        } catch {
            throw ServiceError(.invalidRequest, "\(path) is not an intact CaseSync backup (made with: casesync-server backup --to FILE)")
        }
    }
}
