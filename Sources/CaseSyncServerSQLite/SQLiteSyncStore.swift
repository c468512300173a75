import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// The embedded default store: one SQLite file in WAL mode, through GRDB.
public struct SQLiteSyncStore: SyncStore {
    let writer: any DatabaseWriter
    let environment: ServerEnvironment
    let limits: ProtocolLimits
    let logger: Logger
    /// Working devices by token hash, so a sync does not read the accounts table every time. Pushes and
    /// pulls read the device again in their own transaction (an operator may revoke it from another process).
    let sessions = SessionCache()
    /// Copies the write-ahead log into the database file off the writer's path (nil in memory).
    let checkpointer: Checkpointer?
    /// Lets pushes that arrive together share one transaction and one flush (nil: one each).
    let commits: GroupCommit?
    /// Devices waiting for news, woken as this store's transactions commit. An operator's command run in
    /// another process (compact, erase) wakes nobody here: its news reaches a device at its next wait,
    /// which asks the database first (delayed by one wait at most, never lost).
    public let changes = ScopeChanges()
    /// The bytes of files: in `blobs/` beside the database file; in memory for an in-memory database.
    public let blobs: any BlobStore

    /// Opens (creating if needed) the database at `path` and migrates it. Every commit is on disk
    /// before it returns (`synchronous = FULL`); pushes that arrive together share one commit unless
    /// `groupCommit` is false (each then waits for a flush of its own: for measuring).
    public init(
        path: String, environment: ServerEnvironment = .live, limits: ProtocolLimits = .init(), groupCommit: Bool = true,
        logger: Logger
    ) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // The checkpointer copies the log into the file in the background; the writer does it itself
            // only if the log ever grows past about 40 MB.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Checkpointer.writerBackstopPages)")
            // What is deleted (a draft's text, an erased citizen) is overwritten in the file, not left in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // An acknowledged push is on disk: the log is flushed at every commit, not only at checkpoints.
        // (On the pool's one writing connection, after the pool has set up WAL mode, which sets NORMAL.)
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        try self.init(
            writer: pool, environment: environment, limits: limits, logger: logger,
            checkpointer: try Checkpointer(path: path, logger: logger), groupCommit: groupCommit,
            blobs: try FileBlobStore(directory: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("files")))
    }

    /// Uses an open database (an in-memory `DatabaseQueue` in tests) and migrates it.
    public init(
        writer: any DatabaseWriter, environment: ServerEnvironment = .live, limits: ProtocolLimits = .init(), groupCommit: Bool = true,
        logger: Logger
    ) throws {
        try self.init(
            writer: writer, environment: environment, limits: limits, logger: logger, checkpointer: nil, groupCommit: groupCommit,
            blobs: MemoryBlobStore())
    }

    private init(
        writer: any DatabaseWriter, environment: ServerEnvironment, limits: ProtocolLimits, logger: Logger,
        checkpointer: Checkpointer?, groupCommit: Bool, blobs: any BlobStore
    ) throws {
        self.writer = writer
        self.blobs = blobs
        commits = groupCommit ? GroupCommit(writer: writer, afterCommit: { [checkpointer] in checkpointer?.noteWrite() }) : nil
        self.environment = environment
        self.limits = limits
        self.logger = logger
        self.checkpointer = checkpointer
        try ServerSchema.migrator.migrate(writer)
    }
}

/// Checkpoints the write-ahead log from its own connection, so that the one writer spends its time on
/// transactions, not on copying pages into the database file and syncing it. A passive checkpoint never
/// blocks the writer or readers; once it has copied the whole log, the next write starts the log over.
/// It works while the store runs as a service (`SQLiteSyncStore.run()`); a store that is not run leaves
/// checkpoints to the writer (past `writerBackstopPages`).
final class Checkpointer: Sendable {
    static let writerBackstopPages = 10_000
    /// Write transactions between background checkpoints.
    static let interval = 64

    private let connection: DatabaseQueue
    private let writes = Atomic(0)
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    private let logger: Logger

    init(path: String, logger: Logger) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "checkpoint"
        connection = try DatabaseQueue(path: path, configuration: configuration)
        self.logger = logger
        // Signals that come while a checkpoint runs collapse into one.
        (signals, signal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Called after each write transaction; asks for a checkpoint every `interval` writes.
    func noteWrite() {
        if writes.add(1, ordering: .relaxed).newValue % Self.interval == 0 { signal.yield() }
    }

    /// Checkpoints when asked (one at a time, on GRDB's queue of its connection, not on the caller's
    /// threads) until the service group shuts down; then once more, so the file holds the whole log.
    func run() async {
        for await _ in signals.cancelOnGracefulShutdown() {
            await checkpoint()
        }
        await checkpoint()
    }

    private func checkpoint() async {
        do {
            _ = try await connection.writeWithoutTransaction { try $0.checkpoint(.passive) }
        } catch {
            logger.warning("background checkpoint failed (the writer will checkpoint instead): \(error)")
        }
    }
}

extension SQLiteSyncStore: Service {
    /// Runs the store's background work — the checkpoints of a database file — until a graceful shutdown.
    public func run() async throws {
        // Waiting devices are answered at once when the server stops, so that it stops without waiting for them.
        defer { changes.close() }
        if let checkpointer {
            await checkpointer.run()
        } else {
            try await gracefulShutdown()
        }
    }
}
