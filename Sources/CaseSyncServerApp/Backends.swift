import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerPostgres
import CaseSyncServerSQLite
import CaseSyncSQLite
import Foundation
import GRDB
import Hummingbird
import Logging
import Metrics
import PostgresNIO
import Prometheus
import ServiceLifecycle

/// The store a configuration names: PostgreSQL when it has a database URL, the embedded SQLite in
/// its data directory otherwise.
public enum Backend {
    /// Opens the embedded SQLite store in the configured data directory, creating the directory first.
    public static func openSQLite(
        _ configuration: ServerConfiguration, environment: ServerEnvironment = .live, logger: Logger
    ) throws -> SQLiteSyncStore {
        do {
            // Readable by the server's user only: the database holds tokens' hashes and citizens' cases.
            try OwnerOnlyFiles.createDirectory(at: configuration.dataDirectory)
            try OwnerOnlyFiles.prepareDatabase(at: configuration.databasePath)
        } catch {
            throw ServiceError(
                .internalError, "cannot create the data directory \(configuration.dataDirectory): check its path and permissions")
        }
        return try SQLiteSyncStore(
            path: configuration.databasePath, environment: environment, limits: configuration.limits,
            groupCommit: configuration.groupCommit, logger: logger)
    }

    /// A PostgreSQL store, its schema brought up to date first (by a short-lived pool of its own), on a
    /// database whose commits wait for the disk.
    public static func openPostgres(
        url: String, _ configuration: ServerConfiguration, environment: ServerEnvironment = .live, logger: Logger
    ) async throws -> PostgresSyncStore {
        try await PostgresSyncStore(url: url, environment: environment, limits: configuration.limits, maxConnections: 2, logger: logger)
            .whileRunning { store in
                try await store.checkDurableCommits()
                try await store.migrate()
            }
        return try PostgresSyncStore(url: url, environment: environment, limits: configuration.limits, logger: logger)
    }

    /// Runs `body` with the configured store open (and, for PostgreSQL, its pool running), then closes
    /// it: for the operator's commands that use the store once.
    public static func withStore<T: Sendable>(
        _ configuration: ServerConfiguration, environment: ServerEnvironment = .live, logger: Logger,
        _ body: (any SyncStore) async throws -> T
    ) async throws -> T {
        guard let url = configuration.databaseURL else {
            return try await body(try openSQLite(configuration, environment: environment, logger: logger))
        }
        return try await openPostgres(url: url, configuration, environment: environment, logger: logger).whileRunning { try await body($0) }
    }

    /// What to tell an operator when the database cannot be used, or nil for another error.
    public static func explain(_ error: any Error, _ configuration: ServerConfiguration) -> String? {
        switch error {
        case let error as DatabaseError:
            "the database cannot be used (\(error.resultCode)); check --data-dir (\(configuration.dataDirectory)) and its permissions"
        case let error as PSQLError:
            "the \(describe(configuration)) cannot be used (\(error.serverInfo?[.message] ?? "\(error.code)")); check --database, that PostgreSQL runs and the user may log in"
        default: nil
        }
    }

    /// Where the configured store keeps its data, for messages (never a password).
    public static func describe(_ configuration: ServerConfiguration) -> String {
        guard let url = configuration.databaseURL.flatMap(URLComponents.init(string:)) else {
            return "SQLite database \(configuration.databasePath)"
        }
        return "PostgreSQL database \(url.path.dropFirst()) on \(url.host ?? "?"):\(url.port ?? 5432)"
    }
}

/// The composition root: the configured store, the service and the router, wired into an application
/// whose services (the PostgreSQL pool) start and stop with the server.
public func buildApplication(
    _ configuration: ServerConfiguration, environment: ServerEnvironment = .live
) async throws -> some ApplicationProtocol {
    var logger = Logger(label: "casesync-server")
    logger.logLevel = configuration.logLevel
    let registry = InstanceMetrics.registry
    let observability = Observability(
        instance: configuration.instance ?? "\(ProcessInfo.processInfo.hostName):\(configuration.port)", accessLog: logger,
        exportMetrics: { registry.emitToBuffer() })
    if let url = configuration.databaseURL {
        let store = try await Backend.openPostgres(url: url, configuration, environment: environment, logger: logger)
        return try buildApplication(
            configuration, store: store, services: [store], now: environment.now, logger: logger, observability: observability)
    }
    let store = try Backend.openSQLite(configuration, environment: environment, logger: logger)
    return try buildApplication(
        configuration, store: store, services: [store], now: environment.now, logger: logger, observability: observability)
}

/// The process's metrics, in Prometheus's format: swift-metrics is bootstrapped once, on first use.
public enum InstanceMetrics {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
