import CaseSyncProtocol
import Foundation
import Hummingbird
import ServiceLifecycle

/// The protocol's endpoints, with the limits of the HTTP side: rates per device and address, and
/// the time a body may take.
struct SyncController {
    let service: SyncService
    /// Login-code redemptions per address.
    let redeemLimiter: RateLimiter
    /// Sync requests (push and pull) per device.
    let syncLimiter: RateLimiter
    /// The server's clock (an export's time).
    let now: @Sendable () -> Timestamp

    init(service: SyncService, now: @escaping @Sendable () -> Timestamp) {
        self.service = service
        self.now = now
        redeemLimiter = RateLimiter(perMinute: service.limits.redeemAttemptsPerMinute, now: now)
        syncLimiter = RateLimiter(perMinute: service.limits.syncRequestsPerMinute, now: now)
    }

    /// Every endpoint's method: another method on one of these paths is answered
    /// `405 method_not_allowed` with an `Allow` header.
    static let methods = [
        "/health": "GET", "/.well-known/casesync": "GET", "/authorities": "GET", "/auth/redeem": "POST", "/sync/push": "POST",
        "/sync/pull": "GET", "/sync/wait": "GET", "/metrics": "GET", "/devices": "GET", "/auth/logout": "POST", "/account/export": "GET",
    ]

    func addRoutes(to router: Router<CaseSyncRequestContext>) {
        // Readiness: a load balancer takes an instance that cannot use its database out of rotation.
        router.get("/health") { _, _ in
            try await service.store.checkReady()
            return try json(["status": "ok"])
        }
        router.get("/.well-known/casesync") { _, _ in try json(service.discovery) }
        let versioned = router.group().add(middleware: ProtocolVersionMiddleware())
        // Public and cacheable: the register is the same for everyone, and a device that holds its
        // version gets 304.
        versioned.get("/authorities") { request, _ in
            let register = try await service.store.authorityRegister()
            let tag = "\"\(register.version)\""
            var headers: HTTPFields = [.eTag: tag, .cacheControl: "public, max-age=300"]
            if request.headers[.ifNoneMatch] == tag { return Response(status: .notModified, headers: headers) }
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try WireCoding.encoder().encode(register))))
        }
        versioned.post("/auth/redeem") { request, context in
            if let wait = redeemLimiter.take(context.clientAddress ?? "") {
                throw RateLimiter.refusal(wait, "login attempts from this address")
            }
            // Before a login nothing is unpacked: a stranger's few bytes would cost the server megabytes.
            let body = try await decode(from: request, gzip: false) { try WireCoding.decode(RedeemRequest.self, from: $0) }
            return try json(try await service.redeem(body, address: context.clientAddress))
        }
        // A device's own account: asked of the database every time (a device revoked a moment ago on
        // another instance must not list or revoke others), within the same rate as syncs.
        let account = versioned.group().add(middleware: AuthenticationMiddleware(service: service, limiter: syncLimiter, fresh: true))
        account.get("/devices") { _, context in try json(try await service.devices(session: context.session!)) }
        account.delete("/devices/:clientId") { _, context in
            let clientId = try context.parameters.require("clientId")
            return try json(try await service.revokeDevice(clientId: clientId, session: context.session!))
        }
        account.post("/auth/logout") { _, context in try json(try await service.logout(session: context.session!)) }
        account.get("/account/export") { request, context in
            let export = try await service.exportAccount(session: context.session!, now: now())
            return ResponseCompression.json(Array(try WireCoding.encoder().encode(export)), for: request)
        }
        let sync = versioned.group("/sync").add(middleware: AuthenticationMiddleware(service: service, limiter: syncLimiter))
        sync.post("/push") { request, context in
            let body = try await decode(from: request) { try PushRequest(json: $0) }
            let response = try await service.push(body, session: context.session!)
            ServerMetrics.count(response)
            return jsonBytes(response.jsonBytes)
        }
        sync.get("/pull") { request, context in
            let query = request.uri.queryParameters
            let cursor = query["cursor"].map(String.init)
            let page = try await service.pull(cursor: cursor, limit: try Self.integer("limit", in: query), session: context.session!)
            let bytes = page.jsonBytes
            ServerMetrics.count(page, bytes: bytes.count)
            return ResponseCompression.json(bytes, for: request)
        }
        addFileRoutes(to: versioned)
        // A hint to pull, held open until the device's scope changes (or `seconds` pass).
        sync.get("/wait") { request, context in
            let query = request.uri.queryParameters
            let seconds = try Self.integer("seconds", in: query)
            ServerMetrics.waiting.increment()
            defer { ServerMetrics.waiting.decrement() }
            // The server stops only once its requests are answered: a stop answers every wait at once.
            let answer = try await withGracefulShutdownHandler {
                try await service.wait(cursor: query["cursor"].map(String.init), seconds: seconds, session: context.session!)
            } onGracefulShutdown: { [changes = service.store.changes] in
                changes.close()
            }
            return try json(answer)
        }
    }

    /// A whole number from the query, if given.
    static func integer(_ name: String, in query: Parameters) throws -> Int? {
        guard let text = query[name[...]] else { return nil }
        guard let value = Int(String(text)) else { throw ServiceError(.invalidRequest, "\(name) must be a whole number") }
        return value
    }

    /// Reads the body within the size and time limits and decodes it, naming what is wrong when it
    /// does not fit.
    private func decode<T>(from request: Request, gzip: Bool = true, _ read: ([UInt8]) throws -> T) async throws -> T {
        let limits = service.limits
        let buffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do {
                    return try await request.body.collect(upTo: limits.maxBodyBytes)
                } catch is CancellationError {
                    return nil
                } catch {
                    throw ServiceError(
                        .payloadTooLarge, "the request body is larger than \(limits.maxBodyBytes) bytes",
                        details: ["maxBodyBytes": String(limits.maxBodyBytes)])
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(limits.requestTimeoutSeconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else {
                throw ServiceError(
                    .requestTimeout, "the request body did not arrive within \(limits.requestTimeoutSeconds) s; send it again",
                    details: ["requestTimeoutSeconds": String(limits.requestTimeoutSeconds)])
            }
            return buffer
        }
        let body = try RequestDecompression.body(Array(buffer.readableBytesView), of: request, limit: limits.maxBodyBytes, gzip: gzip)
        return try SyncService.parse(body, read)
    }
}

/// A JSON response from bytes the fast writer made.
func jsonBytes(_ bytes: [UInt8]) -> Response {
    Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// A JSON response in the protocol's encoding.
func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try WireCoding.encoder().encode(value)
    return Response(
        status: status, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
