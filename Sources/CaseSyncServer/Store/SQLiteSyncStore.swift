import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import GRDB
import Logging

/// The embedded default store: one SQLite file in WAL mode, through GRDB.
public struct SQLiteSyncStore: SyncStore {
    let writer: any DatabaseWriter
    let environment: ServerEnvironment
    let limits: ProtocolLimits
    let logger: Logger

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
