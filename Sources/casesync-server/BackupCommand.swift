import ArgumentParser
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerApp
import CaseSyncServerSQLite
import Foundation
import Logging

/// A copy of the SQLite database taken while the server serves.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the SQLite database to a new file while the server runs (SQLite's online backup).",
        discussion: "The copy is one consistent snapshot, readable by this user only. PostgreSQL: use pg_dump or point-in-time recovery, then: casesync-server restore --database-restored.")
    @OptionGroup var storage: StorageOptions
    @Option(help: ArgumentHelp("The new file to write.", valueName: "file")) var to: String

    func run() async throws {
        guard storage.resolvedDatabaseURL == nil else {
            throw refusal("the server runs on PostgreSQL: back it up with pg_dump (or the cluster's point-in-time recovery)")
        }
        let to = to
        let started = Date()
        try await storage.withSQLiteStore { try await $0.backup(to: to) }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: to)[.size] as? NSNumber)?.intValue ?? 0
        print("backed up to \(to) (\(bytes / 1024) KiB in \(String(format: "%.1f", Date().timeIntervalSince(started))) s); restore with: casesync-server restore --from \(to)")
    }
}

/// Puts a backup in place of the SQLite database (the server stopped), or marks a database restored by
/// other means; either way every device pulls again and may skip what the lost history acknowledged.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore the SQLite database from a backup (stop the server first), or mark a restored database.",
        discussion: "Devices whose cursors are ahead of the backup pull their cases again in full (keeping their unsent edits); changes acknowledged after the backup was taken are lost. The database it replaces is kept beside it.")
    @OptionGroup var storage: StorageOptions
    @Option(help: ArgumentHelp("The backup to restore (SQLite).", valueName: "file")) var from: String?
    @Flag(help: "The database was restored by other means (pg_restore, a copy of the file): only mark it so.")
    var databaseRestored = false

    func validate() throws {
        guard (from == nil) != !databaseRestored else { throw ValidationError("give --from FILE, or --database-restored") }
    }

    func run() async throws {
        // On SQLite, no server may start on the directory until the restore is marked.
        let lock = try storage.resolvedDatabaseURL == nil
            ? exitOnError {
                try DataDirectoryLock(storage.configuration.dataDirectory, what: "a server is serving \(storage.configuration.dataDirectory): stop it first")
            } : nil
        defer { _ = lock }
        if let from {
            guard storage.resolvedDatabaseURL == nil else {
                throw refusal("--from restores a SQLite backup; for PostgreSQL restore with pg_restore, then: casesync-server restore --database-restored")
            }
            try await replace(with: from)
        }
        let floor = try await storage.withStore { try await $0.markRestored() }
        print("restored: every device pulls its cases again (cursors below \(floor)); start the server")
        print("what was done after the backup is undone too: shut out again devices revoked since, disable accounts disabled since, erase citizens erased since (the replaced database's trail: casesync-server audit)")
    }

    /// Moves the current database aside and copies the backup in its place (the caller holds the lock).
    func replace(with backup: String) async throws {
        let configuration = storage.configuration
        try exitOnError { try SQLiteSyncStore.checkBackup(at: backup) }
        let manager = FileManager.default
        let path = configuration.databasePath
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        for suffix in ["", "-wal", "-shm"] where manager.fileExists(atPath: path + suffix) {
            try manager.moveItem(atPath: path + suffix, toPath: path + ".replaced-" + stamp + suffix)
        }
        try manager.copyItem(atPath: backup, toPath: path)
        try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        // The backup's files join those the directory holds (a file is its hash: none is replaced).
        if manager.fileExists(atPath: backup + ".files") {
            let files = URL(fileURLWithPath: configuration.dataDirectory).appendingPathComponent("files")
            let copied = try await FileBlobStore(directory: URL(fileURLWithPath: backup + ".files")).copyBlobs(to: files)
            print("\(copied) file(s) of attachments restored")
        }
        if manager.fileExists(atPath: path + ".replaced-" + stamp) {
            print("the database it replaces is kept as \(path).replaced-\(stamp)")
        }
    }
}

/// Says why an operator's command cannot run, on standard error; the exit code to throw.
func refusal(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("casesync-server: \(message)\n".utf8))
    return ExitCode.failure
}

/// Runs `body`, turning a service error into its message on standard error and exit code 1.
func exitOnError<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ServiceError {
        FileHandle.standardError.write(Data("casesync-server: \(error.message)\n".utf8))
        throw ExitCode.failure
    }
}

extension StorageOptions {
    /// Runs `body` with the SQLite store open.
    func withSQLiteStore<T: Sendable>(_ body: (SQLiteSyncStore) async throws -> T) async throws -> T {
        try await withStore { store in
            guard let store = store as? SQLiteSyncStore else { throw ServiceError(.invalidRequest, "this command needs the SQLite store") }
            return try await body(store)
        }
    }
}
