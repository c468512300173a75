import CaseSyncProtocol
import HTTPTypes
import Hummingbird
import Logging

/// Turns every error into the protocol's JSON envelope with a stable code; logs server faults
/// by type only (never request content).
struct ErrorEnvelopeMiddleware: RouterMiddleware {
    typealias Context = CaseSyncRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as ServiceError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let mapped: ServiceError =
                switch error.status {
                case .notFound:
                    if let allowed = SyncController.methods[request.uri.path] {
                        ServiceError(
                            .methodNotAllowed, "\(request.method) is not allowed here; use \(allowed)",
                            details: ["allow": allowed])
                    } else {
                        ServiceError(.notFound, "no such endpoint: \(request.method) \(request.uri.path)")
                    }
                case .methodNotAllowed: ServiceError(.methodNotAllowed, "\(request.method) is not allowed here")
                case .contentTooLarge: ServiceError(.payloadTooLarge, "the request body is too large")
                case .badRequest: ServiceError(.invalidRequest, error.body ?? "the request is not valid")
                default:
                    error.status.code < 500
                        ? ServiceError(.invalidRequest, error.body ?? "the request is not valid")
                        : ServiceError(.internalError, "the server failed; try again later")
                }
            return try mapped.response(from: request, context: context)
        } catch {
            ServerMetrics.serverErrors.increment()
            context.logger.error("request failed", metadata: ["casesync.error_type": "\(type(of: error))"])
            return try ServiceError(.internalError, "the server failed; try again later").response(
                from: request, context: context)
        }
    }
}

/// Requires the protocol version header and checks it against the supported range.
struct ProtocolVersionMiddleware: RouterMiddleware {
    typealias Context = CaseSyncRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let supported = ProtocolVersion.supported
        let range = "\(supported.lowerBound)-\(supported.upperBound)"
        guard let name = HTTPField.Name(ProtocolVersion.headerName), let value = request.headers[name] else {
            throw ServiceError(
                .protocolVersionRequired, "name the protocol version in the \(ProtocolVersion.headerName) header",
                details: ["supported": range])
        }
        guard let version = Int(value), supported.contains(version) else {
            throw ServiceError(
                .unsupportedProtocolVersion,
                "protocol version \(value.prefix(10)) is not supported; this server speaks versions \(range)",
                details: ["supported": range])
        }
        return try await next(request, context)
    }
}

/// Resolves the bearer token into a session, or answers `unauthorized`; then takes the request from
/// the device's rate limit, or answers `rate_limited`.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = CaseSyncRequestContext
    let service: SyncService
    let limiter: RateLimiter
    /// Whether the database is asked even when the instance remembers the device.
    var fresh = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var token: String?
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            token = String(header.dropFirst("Bearer ".count))
        }
        var context = context
        var session = try await service.authenticate(token: token, fresh: fresh)
        session.address = context.clientAddress
        context.session = session
        context.logger[metadataKey: "casesync.client_id"] = .string(session.clientId)
        if let wait = limiter.take(session.clientId) {
            throw RateLimiter.refusal(wait, "sync requests from this device")
        }
        return try await next(request, context)
    }
}
