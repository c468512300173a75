import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// The store for several server instances: one PostgreSQL database that every instance shares,
/// through a pool of connections (postgres-nio's `PostgresClient`). It runs as a service: its pool
/// lives while `run()` does, and ends with a graceful shutdown.
public struct PostgresSyncStore: SyncStore, Service {
    let client: PostgresClient
    let environment: ServerEnvironment
    let limits: ProtocolLimits
    let logger: Logger
    let maxConnections: Int
    /// Working devices by token hash, so a sync does not read the accounts table every time; every
    /// instance forgets a device as its revocation commits (`ScopeWatch`, `d CLIENT…`).
    let sessions = SessionCache()
    /// Each scope's facts as far as this instance knows them, kept true by notifications.
    let watch = ScopeWatch()
    /// Devices waiting for news on this instance, woken by the notifications of every instance's changes.
    /// A notification sent while this instance was not listening is never heard: a wait asks the
    /// database again every `recheck`, and every wait wakes when listening begins again.
    public let changes: ScopeChanges
    /// The bytes of files, in the same database (`PostgresBlobStore`).
    public let blobs: any BlobStore

    /// A store over the database at `url` (`postgres://user[:password]@host[:port]/database`, with
    /// `?sslmode=disable|prefer|require` and libpq's `options`). Call `run()` (or add the store to a service group) before
    /// using it, and `migrate()` once.
    public init(
        url: String, environment: ServerEnvironment = .live, limits: ProtocolLimits = .init(), maxConnections: Int = 20,
        waitRecheck: Duration = .seconds(10), logger: Logger
    ) throws {
        var configuration = try Self.configuration(url: url)
        configuration.options.maximumConnections = maxConnections
        self.maxConnections = maxConnections
        configuration.options.minimumConnections = min(2, maxConnections)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.environment = environment
        self.limits = limits
        self.logger = logger
        changes = ScopeChanges(recheck: waitRecheck)
        blobs = PostgresBlobStore(client: client, logger: logger)
    }

    /// Runs the pool (and, on one of its connections, the listener for other instances' changes)
    /// until the task is cancelled or the service group shuts down.
    public func run() async throws {
        // The listener takes one connection for as long as it listens: a pool of one is left to requests.
        // It is not waited for: it may be asking a pool that has just ended for a connection.
        let listener = maxConnections >= 2 ? Task { await listenForChanges() } : nil
        // Waiting devices are answered at once when the server stops, so that it stops without waiting for them.
        await withGracefulShutdownHandler { await client.run() } onGracefulShutdown: { [changes] in changes.close() }
        listener?.cancel()
        watch.close()
        changes.close()
    }

    /// Runs `body` with the pool running, then stops it: for commands that use the store once.
    public func whileRunning<T: Sendable>(_ body: (PostgresSyncStore) async throws -> T) async throws -> T {
        let (started, signal) = AsyncStream<Void>.makeStream()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                signal.finish()
                // A command's store only runs its pool: it serves no pulls, and needs no listener.
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            // The pool is asked for connections once its task runs.
            for await _ in started {}
            return try await body(self)
        }
    }

    /// The pool's configuration from a `postgres://` URL.
    static func configuration(url text: String) throws -> PostgresClient.Configuration {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
            let host = url.host, !host.isEmpty, let user = url.user, !user.isEmpty
        else {
            throw ServiceError(
                .invalidRequest, "a database URL looks like postgres://user:password@host:5432/casesync (the user and host are needed)")
        }
        let database = String(url.path.drop(while: { $0 == "/" }))
        let mode = url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        default: throw ServiceError(.invalidRequest, "sslmode must be disable, prefer or require")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: url.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: url.password?.removingPercentEncoding, database: database.isEmpty ? user : database, tls: tls)
        // Settings for every connection, as libpq takes them: ?options=-c%20search_path%3Dcasesync
        if let options = url.queryItems?.first(where: { $0.name == "options" })?.value {
            configuration.options.additionalStartupParameters = [("options", options)]
        }
        return configuration
    }

    /// Runs `body` in a transaction, again (up to five times, after a short random wait) when
    /// PostgreSQL ends it for a conflict with a concurrent one: a deadlock, a serialization failure, or
    /// a record id inserted by another transaction at the same time.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try ensureRunning()
        var attempt = 0
        while true {
            let asked = ContinuousClock.now
            do {
                return try await client.withTransaction(logger: logger) { connection in
                    // How long the push waited for a connection of the pool and its BEGIN.
                    let waited = (ContinuousClock.now - asked).components
                    Self.poolWait.recordNanoseconds(waited.seconds * 1_000_000_000 + waited.attoseconds / 1_000_000_000)
                    return try await body(connection)
                }
            } catch let error as PostgresTransactionError {
                // The error that ended the transaction: the body's own (a refusal), or the database's.
                let cause = error.closureError ?? error.commitError ?? error.beginError ?? error
                guard attempt < 5, let database = cause as? PSQLError, Self.isRetryable(database) else {
                    if cause is PSQLError { Self.storeErrors.increment() }
                    throw cause
                }
                Self.retries.increment()
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << attempt))))
            }
        }
    }

    /// Refuses a database whose commits do not wait for the disk (`synchronous_commit = off`, for the
    /// database, its user or in the URL's options): a push acknowledged there could be lost to a crash
    /// of PostgreSQL after the device has dropped it from its outbox.
    public func checkDurableCommits() async throws {
        var (setting, fsync) = ("", "")
        for try await values in try await client.query(
            "SELECT current_setting('synchronous_commit'), current_setting('fsync')", logger: logger
        ).decode((String, String).self) {
            (setting, fsync) = values
        }
        // A cluster's fsync is the operator's (test clusters run without it): said, not refused.
        if fsync == "off" {
            logger.warning("PostgreSQL runs with fsync = off: a crash of its machine can lose acknowledged pushes")
        }
        guard setting != "off" else {
            throw ServiceError(
                .unavailable,
                "PostgreSQL runs this database with synchronous_commit = off, so acknowledged pushes could be lost in a crash; set it back (ALTER DATABASE … SET synchronous_commit = on, or remove it from the URL's options)")
        }
    }

    /// Refuses work once the store has stopped: its pool would never lend a connection again.
    func ensureRunning() throws {
        if watch.isClosed { throw ServiceError(.unavailable, "the server is stopping; try again in a moment") }
    }

    static let poolWait = Metrics.Timer(label: "casesync_store_pool_wait_seconds")
    static let retries = Counter(label: "casesync_store_retries_total")
    static let storeErrors = Counter(label: "casesync_store_errors_total")

    static func isRetryable(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return ["40001", "40P01", "23505"].contains(state)
    }
}
