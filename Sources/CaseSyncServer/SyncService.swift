import CaseSyncProtocol
import Logging

/// The protocol's operations over a store, shared by the HTTP routes and the in-process transport:
/// authentication, limits, cursor parsing. Holds no state of its own.
public struct SyncService: Sendable {
    public let store: any SyncStore
    public let limits: ProtocolLimits
    public let serverName: String

    public init(store: any SyncStore, limits: ProtocolLimits, serverName: String = "casesync-server") {
        self.store = store
        self.limits = limits
        self.serverName = serverName
    }

    public var discovery: DiscoveryResponse {
        DiscoveryResponse(server: serverName, protocolVersions: Array(ProtocolVersion.supported), limits: limits)
    }

    public func redeem(_ request: RedeemRequest) async throws -> RedeemResponse {
        guard !request.code.isEmpty, request.code.count <= 64 else {
            throw ServiceError(.invalidLoginCode, "a login code looks like K7QM-2XRT-9HBD; check what you typed")
        }
        return try await store.redeem(request)
    }

    /// The session of a bearer token, or `unauthorized`.
    public func authenticate(token: String?) async throws -> Session {
        guard let token, !token.isEmpty else {
            throw ServiceError(.unauthorized, "this request needs a device token: Authorization: Bearer <token>")
        }
        guard token.count <= 128, let session = try await store.session(token: token) else {
            throw ServiceError(.unauthorized, "this device token is not valid; log in again with a new login code")
        }
        return session
    }

    public func push(_ request: PushRequest, session: Session) async throws -> PushResponse {
        try await store.push(request, session: session)
    }

    /// Reads a request body with `read` (a strict reader); a body that is not JSON is refused as
    /// `malformed_json`, one of the wrong shape as `invalid_request`, each naming what is wrong.
    public static func parse<T>(_ bytes: [UInt8], _ read: ([UInt8]) throws -> T) throws -> T {
        do {
            return try read(bytes)
        } catch {
            throw ServiceError(WireCoding.isSyntaxError(error) ? .malformedJSON : .invalidRequest, WireCoding.describe(error))
        }
    }

    public func pull(cursor: String?, limit: Int?, session: Session) async throws -> RawPullResponse {
        let after: Int64
        if let cursor, !cursor.isEmpty {
            guard let value = Int64(cursor), value >= 0 else {
                throw ServiceError(.invalidCursor, "cursor must be a value an earlier pull returned, or left out to start")
            }
            after = value
        } else {
            after = 0
        }
        let pageSize = limit ?? limits.defaultPageSize
        guard pageSize >= 1, pageSize <= limits.maxPageSize else {
            throw ServiceError(
                .invalidRequest, "limit must be between 1 and \(limits.maxPageSize)",
                details: ["maxPageSize": String(limits.maxPageSize)])
        }
        return try await store.pull(after: after, limit: pageSize, session: session)
    }
}
