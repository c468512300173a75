import CaseSyncProtocol
import Synchronization

/// What the database holds of a device when its token is looked up.
public struct DeviceStanding: Sendable {
    public var session: Session
    public var lastSeenAt: Timestamp
    public var revokedAt: Timestamp?
    public var revokedReason: String?

    public init(session: Session, lastSeenAt: Timestamp, revokedAt: Timestamp?, revokedReason: String?) {
        self.session = session
        self.lastSeenAt = lastSeenAt
        self.revokedAt = revokedAt
        self.revokedReason = revokedReason
    }
}

/// When a device's token works, shared by every store: it stops when the device is revoked (or logs
/// out, or its account is disabled) and when it goes unused longer than `sessionIdleDays`. A store
/// checks the device again inside the transaction or statement that does a request's work, so that a
/// revocation committed anywhere before that work is never outrun by what an instance remembers.
public enum SessionRules {
    public enum Verdict: Sendable, Equatable {
        /// Works; its last use is recent enough as written down.
        case valid
        /// Works; write down that it is in use now.
        case validNoteUse
        /// Went unused too long: the store marks it expired and refuses it.
        case expired
        /// Stopped (the reason as stored).
        case revoked(String?)
    }

    public static func judge(_ standing: DeviceStanding, now: Timestamp, limits: ProtocolLimits) -> Verdict {
        if standing.revokedAt != nil { return .revoked(standing.revokedReason) }
        let unused = now.millisecondsSince1970 - standing.lastSeenAt.millisecondsSince1970
        // (An idle time too long to count in milliseconds is never reached.)
        let idle = Int64(limits.sessionIdleDays).multipliedReportingOverflow(by: 86_400_000)
        if limits.sessionIdleDays > 0, !idle.overflow, unused > idle.partialValue { return .expired }
        return unused >= DeviceInfo.lastSeenPrecisionMillis ? .validNoteUse : .valid
    }

    /// The refusal of a device that no longer works.
    public static func refusal(reason: String?) -> ServiceError {
        switch RevocationReason(rawValue: reason ?? "") {
        case .expired?: expired
        case .accountDisabled?:
            ServiceError(
                .deviceRevoked, "this account is disabled; ask the authority that runs the server",
                details: ["reason": RevocationReason.accountDisabled.rawValue])
        case .logout?:
            ServiceError(
                .deviceRevoked, "this device logged out; log in again with a new login code",
                details: ["reason": RevocationReason.logout.rawValue])
        default:
            ServiceError(
                .deviceRevoked, "this device's access was revoked; log in again with a new login code",
                details: ["reason": RevocationReason.revoked.rawValue])
        }
    }

    public static let expired = ServiceError(
        .sessionExpired, "this device went unused too long and was logged out; log in again with a new login code")

    /// A scalar subquery a request's own statement or transaction reads the device with: NULL when there
    /// is no such device, '' while it works, its reason once it stopped. `parameter` holds the client id.
    public static func deviceStateSQL(_ parameter: String) -> String {
        "(SELECT \(deviceState) FROM devices WHERE client_id = \(parameter))"
    }

    /// The same, as a column of a statement that reads the device's row itself.
    public static let deviceState = "CASE WHEN revoked_at IS NULL THEN '' ELSE COALESCE(revoked_reason, 'revoked') END"

    /// Throws the refusal when the device, as `deviceStateSQL` read it inside a request's own
    /// transaction or statement, no longer works.
    public static func checkActive(_ state: String?) throws {
        guard let state else { throw refusal(reason: nil) }
        if !state.isEmpty { throw refusal(reason: state) }
    }

    /// The account's devices in the order `GET /devices` lists them: working first, then the newest.
    public static func ordered(_ devices: [DeviceInfo]) -> [DeviceInfo] {
        devices.sorted {
            ($0.isActive ? 0 : 1, -$0.lastSeenAt.millisecondsSince1970, $0.clientId)
                < ($1.isActive ? 0 : 1, -$1.lastSeenAt.millisecondsSince1970, $1.clientId)
        }
    }

    public static let deviceNotFound = ServiceError(.notFound, "this account has no device with this id")
}

/// A bounded in-memory map of token hash → a working device, so a sync does not read the accounts every
/// time. Revocations take devices out (`evict`); a lookup of the database that began before an
/// eviction does not put what it read (`generation`), so a revoked device is never remembered again.
public final class SessionCache: Sendable {
    public struct Entry: Sendable {
        public var session: Session
        public var lastSeenAt: Timestamp

        public init(session: Session, lastSeenAt: Timestamp) {
            self.session = session
            self.lastSeenAt = lastSeenAt
        }

        /// As judged by `SessionRules` (an entry is a device that worked when it was read).
        public var standing: DeviceStanding {
            DeviceStanding(session: session, lastSeenAt: lastSeenAt, revokedAt: nil, revokedReason: nil)
        }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// The client ids of the entries.
        var clients: Set<String> = []
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    private let capacity = 50_000

    public init() {}

    public func get(_ tokenHash: String) -> Entry? { state.withLock { $0.entries[tokenHash] } }

    /// Counts evictions; take it before reading the database, give it to `put`.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Remembers a working device, unless something was evicted since `generation` was taken.
    public func put(_ tokenHash: String, _ entry: Entry, ifGeneration generation: UInt64) {
        state.withLock {
            guard $0.generation == generation else { return }
            if $0.entries.count >= capacity {
                $0.entries.removeAll(keepingCapacity: true)
                $0.clients.removeAll(keepingCapacity: true)
            }
            $0.entries[tokenHash] = entry
            $0.clients.insert(entry.session.clientId)
        }
    }

    /// Forgets the devices with these client ids.
    public func evict(clientIds: Set<String>) {
        state.withLock { state in
            state.generation += 1
            guard !state.clients.isDisjoint(with: clientIds) else { return }
            state.entries = state.entries.filter { !clientIds.contains($0.value.session.clientId) }
            state.clients.subtract(clientIds)
        }
    }

    /// Forgets every device (when revocations may have gone unheard).
    public func evictAll() {
        state.withLock { state in
            state.generation += 1
            state.entries.removeAll()
            state.clients.removeAll()
        }
    }

    /// The session of a token (by its hash), shared by every store: a device remembered and recently
    /// used is answered from memory (unless `fresh`); otherwise `read` fetches it from the database and
    /// `SessionRules` judges it: a stopped device is refused, one unused too long is stopped (`expire`,
    /// with its client id) and refused, and a use not yet written down is (`noteUse`). Nil: no such token.
    public func session(
        tokenHash: String, fresh: Bool, now: Timestamp, limits: ProtocolLimits,
        read: () async throws -> DeviceStanding?,
        expire: (_ clientId: String) async throws -> Void,
        noteUse: (_ clientId: String) async throws -> Void
    ) async throws -> Session? {
        if !fresh, let cached = get(tokenHash), SessionRules.judge(cached.standing, now: now, limits: limits) == .valid {
            return cached.session
        }
        let generation = generation
        guard var standing = try await read() else { return nil }
        switch SessionRules.judge(standing, now: now, limits: limits) {
        case .revoked(let reason):
            throw SessionRules.refusal(reason: reason)
        case .expired:
            try await expire(standing.session.clientId)
            throw SessionRules.expired
        case .validNoteUse:
            try await noteUse(standing.session.clientId)
            standing.lastSeenAt = now
        case .valid:
            break
        }
        put(tokenHash, Entry(session: standing.session, lastSeenAt: standing.lastSeenAt), ifGeneration: generation)
        return standing.session
    }

    /// Whether the device is still remembered as working.
    public func holds(_ session: Session) -> Bool {
        state.withLock { $0.clients.contains(session.clientId) }
    }
}
