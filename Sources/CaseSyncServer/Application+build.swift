import CaseSyncProtocol
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The composition root over a given store (tests pass one on an in-memory database); `services`
/// run beside the HTTP server and stop with it (a store's connection pool, its background work).
public func buildApplication(
    _ configuration: ServerConfiguration, store: any SyncStore, services: [any Service] = [],
    now: @escaping @Sendable () -> Timestamp = ServerEnvironment.live.now, logger: Logger,
    observability: Observability = .none
) -> some ApplicationProtocol {
    let service = SyncService(store: store, limits: configuration.limits)
    let connections = ConnectionLimits(configuration.limits, trustedProxies: configuration.trustedProxies)
    return Application(
        router: buildRouter(service: service, now: now, observability: observability, trustedProxies: configuration.trustedProxies),
        server: connections.server,
        configuration: connections.configuration(
            address: .hostname(configuration.host, port: configuration.port), logger: logger),
        services: services,
        logger: logger)
}

/// The router with every endpoint and middleware; `now` is the clock of the rate limits.
public func buildRouter(
    service: SyncService, now: @escaping @Sendable () -> Timestamp = ServerEnvironment.live.now,
    observability: Observability = .none, trustedProxies: TrustedProxies = .none
) -> Router<CaseSyncRequestContext> {
    let router = Router(context: CaseSyncRequestContext.self)
    if !trustedProxies.isEmpty {
        router.add(middleware: ClientAddressMiddleware(trusted: trustedProxies))
    }
    if let accessLog = observability.accessLog {
        router.add(middleware: AccessLogMiddleware(instance: observability.instance, logger: accessLog))
    }
    if let export = observability.exportMetrics {
        // Requests and their latency by route, method and status.
        router.add(middleware: MetricsMiddleware())
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: export())))
        }
    }
    router.add(middleware: ErrorEnvelopeMiddleware())
    router.add(middleware: LogRequestsMiddleware(.debug))
    SyncController(service: service, now: now).addRoutes(to: router)
    return router
}
