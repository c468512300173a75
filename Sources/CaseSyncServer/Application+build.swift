import CaseSyncProtocol
import Foundation
import Hummingbird
import Logging

/// Opens the embedded SQLite store in the configured data directory, creating the directory first.
public func openStore(
    _ configuration: ServerConfiguration, environment: ServerEnvironment = .live, logger: Logger
) throws -> SQLiteSyncStore {
    do {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
    } catch {
        throw ServiceError(
            .internalError, "cannot create the data directory \(configuration.dataDirectory): check its path and permissions")
    }
    return try SQLiteSyncStore(
        path: configuration.databasePath, environment: environment, limits: configuration.limits, logger: logger)
}

/// The composition root: store, service and router, wired into an application.
public func buildApplication(
    _ configuration: ServerConfiguration, environment: ServerEnvironment = .live
) throws -> some ApplicationProtocol {
    var logger = Logger(label: "casesync-server")
    logger.logLevel = configuration.logLevel
    let store = try openStore(configuration, environment: environment, logger: logger)
    return buildApplication(configuration, store: store, now: environment.now, logger: logger)
}

/// The composition root over a given store (tests pass one on an in-memory database).
public func buildApplication(
    _ configuration: ServerConfiguration, store: any SyncStore,
    now: @escaping @Sendable () -> Timestamp = ServerEnvironment.live.now, logger: Logger
) -> some ApplicationProtocol {
    let service = SyncService(store: store, limits: configuration.limits)
    let connections = ConnectionLimits(configuration.limits)
    return Application(
        router: buildRouter(service: service, now: now),
        server: connections.server,
        configuration: connections.configuration(
            address: .hostname(configuration.host, port: configuration.port), logger: logger),
        logger: logger)
}

/// The router with every endpoint and middleware; `now` is the clock of the rate limits.
public func buildRouter(
    service: SyncService, now: @escaping @Sendable () -> Timestamp = ServerEnvironment.live.now
) -> Router<CaseSyncRequestContext> {
    let router = Router(context: CaseSyncRequestContext.self)
    router.add(middleware: ErrorEnvelopeMiddleware())
    router.add(middleware: LogRequestsMiddleware(.debug))
    SyncController(service: service, now: now).addRoutes(to: router)
    return router
}
