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
    return buildApplication(configuration, store: store, logger: logger)
}

/// The composition root over a given store (tests pass one on an in-memory database).
public func buildApplication(
    _ configuration: ServerConfiguration, store: any SyncStore, logger: Logger
) -> some ApplicationProtocol {
    let service = SyncService(store: store, limits: configuration.limits)
    return Application(
        router: buildRouter(service: service),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
        logger: logger)
}

/// The router with every endpoint and middleware.
public func buildRouter(service: SyncService) -> Router<CaseSyncRequestContext> {
    let router = Router(context: CaseSyncRequestContext.self)
    router.add(middleware: ErrorEnvelopeMiddleware())
    router.add(middleware: LogRequestsMiddleware(.debug))
    SyncController(service: service).addRoutes(to: router)
    return router
}
