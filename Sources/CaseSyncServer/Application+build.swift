import CaseSyncProtocol
import Foundation
import Hummingbird
import NIOSSL
import Logging
import ServiceLifecycle

/// The composition root over a given store (tests pass one on an in-memory database); `services`
/// run beside the HTTP server and stop with it (a store's connection pool, its background work).
public func buildApplication(
    _ configuration: ServerConfiguration, store: any SyncStore, services: [any Service] = [],
    now: @escaping @Sendable () -> Timestamp = ServerEnvironment.live.now, logger: Logger,
    observability: Observability = .none
) throws -> some ApplicationProtocol {
    let service = SyncService(store: store, limits: configuration.limits, now: now)
    let connections = ConnectionLimits(configuration.limits, trustedProxies: configuration.trustedProxies)
    return Application(
        router: buildRouter(service: service, now: now, observability: observability, trustedProxies: configuration.trustedProxies),
        server: try connections.server(tls: try configuration.tls.map(ServerTLS.configuration)),
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

/// HTTPS served by the server itself.
public enum ServerTLS {
    /// A server configuration from PEM files: the certificate chain (the server's certificate first) and
    /// its private key. A file that cannot be read or is not PEM is named in the error.
    public static func configuration(_ files: ServerConfiguration.TLSFiles) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain)
        } catch {
            throw ServiceError(.invalidRequest, "cannot read the certificate chain \(files.certificateChain): it must be a PEM file this user may read")
        }
        guard !chain.isEmpty else {
            throw ServiceError(.invalidRequest, "the certificate chain \(files.certificateChain) holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        } catch {
            throw ServiceError(.invalidRequest, "cannot read the private key \(files.privateKey): it must be a PEM file this user may read")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}
