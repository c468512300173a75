import CaseSyncProtocol
import Foundation
import Hummingbird

/// The protocol's endpoints.
struct SyncController {
    let service: SyncService

    func addRoutes(to router: Router<CaseSyncRequestContext>) {
        router.get("/health") { _, _ in try json(["status": "ok"]) }
        router.get("/.well-known/casesync") { _, _ in try json(service.discovery) }
        let versioned = router.group().add(middleware: ProtocolVersionMiddleware())
        versioned.post("/auth/redeem") { request, context in
            let body = try await decode(from: request) { try WireCoding.decode(RedeemRequest.self, from: $0) }
            return try json(try await service.redeem(body))
        }
        let sync = versioned.group("/sync").add(middleware: AuthenticationMiddleware(service: service))
        sync.post("/push") { request, context in
            let body = try await decode(from: request) { try PushRequest(json: $0) }
            return jsonBytes(try await service.push(body, session: context.session!).jsonBytes)
        }
        sync.get("/pull") { request, context in
            let query = request.uri.queryParameters
            var limit: Int?
            if let text = query["limit"] {
                guard let value = Int(String(text)) else { throw ServiceError(.invalidRequest, "limit must be a whole number") }
                limit = value
            }
            let cursor = query["cursor"].map(String.init)
            return jsonBytes(try await service.pull(cursor: cursor, limit: limit, session: context.session!).jsonBytes)
        }
    }

    /// Reads the body within the size limit and decodes it, naming what is wrong when it does not fit.
    private func decode<T>(from request: Request, _ read: ([UInt8]) throws -> T) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: service.limits.maxBodyBytes)
        } catch {
            throw ServiceError(
                .payloadTooLarge, "the request body is larger than \(service.limits.maxBodyBytes) bytes",
                details: ["maxBodyBytes": String(service.limits.maxBodyBytes)])
        }
        return try SyncService.parse(Array(buffer.readableBytesView), read)
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
