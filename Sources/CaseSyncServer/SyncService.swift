import CaseSyncProtocol
import Logging

/// The protocol's operations over a store, shared by the HTTP routes and the in-process transport:
/// authentication, limits, cursor parsing. Holds no state of its own.
public struct SyncService: Sendable {
    public let store: any SyncStore
    public let limits: ProtocolLimits
    public let serverName: String
    /// The server's clock (when an upload began or finished).
    public let now: @Sendable () -> Timestamp

    public init(
        store: any SyncStore, limits: ProtocolLimits, serverName: String = "casesync-server",
        now: @escaping @Sendable () -> Timestamp = ServerEnvironment.live.now
    ) {
        self.store = store
        self.limits = limits
        self.serverName = serverName
        self.now = now
    }

    public var discovery: DiscoveryResponse {
        DiscoveryResponse(server: serverName, protocolVersions: Array(ProtocolVersion.supported), limits: limits)
    }

    public func redeem(_ request: RedeemRequest, address: String? = nil) async throws -> RedeemResponse {
        guard !request.code.isEmpty, request.code.count <= 64 else {
            throw ServiceError(.invalidLoginCode, "a login code looks like K7QM-2XRT-9HBD; check what you typed")
        }
        return try await store.redeem(request, address: address)
    }

    /// The session of a bearer token, or `unauthorized` (`device_revoked`, `session_expired` for a token
    /// that stopped working). With `fresh`, the database is asked even when the instance remembers the device.
    public func authenticate(token: String?, fresh: Bool = false) async throws -> Session {
        guard let token, !token.isEmpty else {
            throw ServiceError(.unauthorized, "this request needs a device token: Authorization: Bearer <token>")
        }
        guard token.count <= 128, let session = try await store.session(token: token, fresh: fresh) else {
            throw ServiceError(.unauthorized, "this device token is not valid; log in again with a new login code")
        }
        return session
    }

    public func push(_ request: PushRequest, session: Session) async throws -> PushResponse {
        let response = try await store.push(request, session: session)
        // A deleted draft's files go at once (those nothing else refers to).
        let deletes = Set(request.mutations.filter { if case .delete = $0.operation { true } else { false } }.map(\.mutationId))
        if response.outcomes.contains(where: { deletes.contains($0.mutationId) && $0.status != .rejected }) {
            try await BlobSweep(store: store).sweepQueued()
        }
        return response
    }

    /// The account's devices, the asking one marked `current`.
    public func devices(session: Session) async throws -> DeviceList {
        var devices = try await store.devices(accountId: session.account.id)
        for index in devices.indices { devices[index].current = devices[index].clientId == session.clientId }
        return DeviceList(devices: devices)
    }

    /// Stops one of the account's devices (this one: a logout). An id not in the client-id form, or of
    /// no device of this account, is `not_found` alike.
    public func revokeDevice(clientId: String, session: Session) async throws -> DeviceInfo {
        guard (1...64).contains(clientId.utf8.count), clientId.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) })
        else { throw SessionRules.deviceNotFound }
        let own = clientId == session.clientId
        var device = try await store.revokeDevice(clientId: clientId, by: session, reason: own ? .logout : .revoked)
        device.current = own
        return device
    }

    /// Everything held about the session's account: its devices, a citizen's records (read page by page
    /// as pulls read them, so the export holds exactly what the account's devices may see), and the audit
    /// trail's entries about it.
    public func exportAccount(session: Session, now: Timestamp) async throws -> AccountExport {
        let devices = try await self.devices(session: session).devices
        var records: [SyncChange] = []
        if session.account.role == .citizen {
            var cursor: (seq: Int64, fromStart: Bool) = (0, true)
            while true {
                let page = try await store.pull(after: cursor.seq, fromStart: cursor.fromStart, limit: limits.maxPageSize, session: session)
                records += try page.decoded().changes
                guard page.hasMore, let next = PullPageBuilder.parse(cursor: Substring(page.cursor)) else { break }
                cursor = (next.seq, true)
            }
        }
        var activity: [AuditEntry] = []
        while true {
            let page = try await store.audit(.accountId(session.account.id), after: activity.last?.id ?? 0, limit: 1_000)
            activity += page
            if page.count < 1_000 { break }
        }
        return AccountExport(
            exportedAt: now, server: serverName, account: session.account, devices: devices, records: records, activity: activity)
    }

    /// Stops this device's token.
    public func logout(session: Session) async throws -> DeviceInfo {
        try await revokeDevice(clientId: session.clientId, session: session)
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

    /// Where a cursor points: after which place, and whether it continues a pull from the start.
    static func position(of cursor: String?) throws -> (seq: Int64, fromStart: Bool) {
        guard let cursor, !cursor.isEmpty else { return (0, false) }
        guard cursor.utf8.count <= 24, let parsed = PullPageBuilder.parse(cursor: Substring(cursor)) else {
            throw ServiceError(.invalidCursor, "cursor must be a value an earlier pull returned, or left out to start")
        }
        return parsed
    }

    public func pull(cursor: String?, limit: Int?, session: Session) async throws -> RawPullResponse {
        let (after, fromStart) = try Self.position(of: cursor)
        let pageSize = limit ?? limits.defaultPageSize
        guard pageSize >= 1, pageSize <= limits.maxPageSize else {
            throw ServiceError(
                .invalidRequest, "limit must be between 1 and \(limits.maxPageSize)",
                details: ["maxPageSize": String(limits.maxPageSize)])
        }
        return try await store.pull(after: after, fromStart: fromStart, limit: pageSize, session: session)
    }

    /// `GET /sync/wait`: `changed: true` as soon as the session's scope has a change past `cursor` (at
    /// once when it has one already: a cursor the pull would refuse for compaction counts as news too),
    /// `changed: false` after `seconds` without one, or when the server stops. Never data: the device
    /// then pulls as always. Where notifications can be lost, the scope is asked again every
    /// `ScopeChanges.recheck`.
    public func wait(cursor: String?, seconds: Int?, session: Session) async throws -> WaitResponse {
        let position = try Self.position(of: cursor)
        guard (seconds ?? 0) >= 0 else { throw ServiceError(.invalidRequest, "seconds must be 0 or more") }
        // A longer wait than the server holds is shortened to it: the answer is a hint either way.
        let seconds = min(seconds ?? WaitRules.defaultSeconds, limits.maxWaitSeconds)
        let changes = store.changes
        let scope = ScopeKey.of(session.account)
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        // Where notifications can be lost, the store is asked again every `recheck` until the time is up.
        while true {
            let left = max(ContinuousClock.now.duration(to: deadline), .zero)
            let outcome = try await changes.wait(
                scope: scope, device: session.clientId, timeout: changes.recheck.map { min($0, left) } ?? left
            ) {
                try await hasNews(after: position, session: session)
            }
            switch outcome {
            case .changed: return WaitResponse(changed: true)
            case .ended: return WaitResponse(changed: false)
            case .timedOut where ContinuousClock.now >= deadline || Task.isCancelled: return WaitResponse(changed: false)
            case .timedOut: continue
            }
        }
    }

    /// Whether a pull from this position would bring anything (or be told to start over).
    private func hasNews(after position: (seq: Int64, fromStart: Bool), session: Session) async throws -> Bool {
        do {
            let page = try await store.pull(after: position.seq, fromStart: position.fromStart, limit: 1, session: session)
            return page.hasMore || !page.changes.isEmpty
        } catch let error as ServiceError where error.code == .resyncRequired {
            return true
        }
    }
}
