import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import GRDB
import Logging
import Synchronization

/// The embedded default store: one SQLite file in WAL mode, through GRDB.
public struct SQLiteSyncStore: SyncStore {
    let writer: any DatabaseWriter
    let environment: ServerEnvironment
    let limits: ProtocolLimits
    let logger: Logger
    /// Sessions by token hash, so a sync does not read the accounts table every time. Tokens are never
    /// revoked in protocol version 1; revoking one must clear this cache.
    let sessions = SessionCache()

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String, environment: ServerEnvironment = .live, limits: ProtocolLimits = .init(), logger: Logger)
        throws
    {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try self.init(writer: pool, environment: environment, limits: limits, logger: logger)
    }

    /// Uses an open database (an in-memory `DatabaseQueue` in tests) and migrates it.
    public init(writer: any DatabaseWriter, environment: ServerEnvironment = .live, limits: ProtocolLimits = .init(), logger: Logger)
        throws
    {
        self.writer = writer
        self.environment = environment
        self.limits = limits
        self.logger = logger
        try ServerSchema.migrator.migrate(writer)
    }
}

/// A bounded in-memory map of token hash → session.
final class SessionCache: Sendable {
    private let entries = Mutex([String: Session]())
    private let capacity = 50_000

    func get(_ tokenHash: String) -> Session? { entries.withLock { $0[tokenHash] } }

    func put(_ tokenHash: String, _ session: Session) {
        entries.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[tokenHash] = session
        }
    }
}
