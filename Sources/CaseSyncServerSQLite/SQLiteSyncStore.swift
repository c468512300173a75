import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
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
    /// Copies the write-ahead log into the database file off the writer's path (nil in memory).
    let checkpointer: Checkpointer?

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String, environment: ServerEnvironment = .live, limits: ProtocolLimits = .init(), logger: Logger)
        throws
    {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // The checkpointer copies the log into the file in the background; the writer does it itself
            // only if the log ever grows past about 40 MB.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Checkpointer.writerBackstopPages)")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try self.init(
            writer: pool, environment: environment, limits: limits, logger: logger,
            checkpointer: try Checkpointer(path: path, logger: logger))
    }

    /// Uses an open database (an in-memory `DatabaseQueue` in tests) and migrates it.
    public init(writer: any DatabaseWriter, environment: ServerEnvironment = .live, limits: ProtocolLimits = .init(), logger: Logger)
        throws
    {
        try self.init(writer: writer, environment: environment, limits: limits, logger: logger, checkpointer: nil)
    }

    private init(
        writer: any DatabaseWriter, environment: ServerEnvironment, limits: ProtocolLimits, logger: Logger,
        checkpointer: Checkpointer?
    ) throws {
        self.writer = writer
        self.environment = environment
        self.limits = limits
        self.logger = logger
        self.checkpointer = checkpointer
        try ServerSchema.migrator.migrate(writer)
    }
}

/// Checkpoints the write-ahead log from its own connection on its own queue, so that the one writer
/// spends its time on transactions, not on copying pages into the database file and syncing it. A
/// passive checkpoint never blocks the writer or readers; once it has copied the whole log, the next
/// write starts the log over.
final class Checkpointer: Sendable {
    static let writerBackstopPages = 10_000
    /// Write transactions between background checkpoints.
    static let interval = 64

    private let connection: DatabaseQueue
    private let state = Mutex((writes: 0, running: false))
    private let queue = DispatchQueue(label: "casesync.checkpoint", qos: .utility)
    private let logger: Logger

    init(path: String, logger: Logger) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "checkpoint"
        connection = try DatabaseQueue(path: path, configuration: configuration)
        self.logger = logger
    }

    /// Called after each write transaction; starts a checkpoint every `interval` writes (one at a time).
    func noteWrite() {
        let start = state.withLock { state -> Bool in
            state.writes += 1
            guard state.writes >= Self.interval, !state.running else { return false }
            state.writes = 0
            state.running = true
            return true
        }
        guard start else { return }
        queue.async { [self] in
            do {
                _ = try connection.writeWithoutTransaction { try $0.checkpoint(.passive) }
            } catch {
                logger.warning("background checkpoint failed (the writer will checkpoint instead): \(error)")
            }
            state.withLock { $0.running = false }
        }
    }
}
