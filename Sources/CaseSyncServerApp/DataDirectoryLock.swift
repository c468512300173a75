import CaseSyncServer
import CaseSyncSQLite
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A lock on the SQLite data directory that the serving process holds while it runs (an advisory lock
/// on the file `casesync.lock`; the system lets it go when the process ends, however it ends): a
/// restore refuses to replace the database under a running server, and a second server refuses to serve
/// the same directory.
public final class DataDirectoryLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock, or throws `what` when another process holds it.
    public init(_ directory: String, what: String) throws {
        try OwnerOnlyFiles.createDirectory(at: directory)
        let path = directory + "/casesync.lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ServiceError(.internalError, "cannot open \(path): check the data directory's permissions")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw ServiceError(.unavailable, what)
        }
    }

    deinit { close(descriptor) }
}
