import CaseSyncProtocol
import Synchronization

/// A device's authenticated session: which client it is and whose account.
public struct Session: Sendable, Hashable {
    public var clientId: String
    public var account: AccountInfo

    public init(clientId: String, account: AccountInfo) {
        self.clientId = clientId
        self.account = account
    }
}

/// A new account's (or a new device's) one-time login code.
public struct Invitation: Sendable, Hashable {
    public var accountId: String
    public var code: String
    public var expiresAt: Timestamp
}

/// Where the server keeps accounts, cases and the change feed. One adapter per backend (the
/// embedded SQLite default, PostgreSQL for several instances); every adapter passes the same contract
/// tests. What the protocol decides — validation, exactly-once, the rules, scopes, checksums, pages —
/// is decided above the adapters (`PushPlanner`, `PullPageBuilder`, `AccountRules`, `AuthorityRules`,
/// `CompactionPlan`); an adapter reads and writes what they ask, in its transactions.
public protocol SyncStore: Sendable {
    /// Creates an account and a login code for its first device.
    func invite(role: ActorRole, authorityId: String?, displayName: String, validFor days: Int) async throws -> Invitation
    /// A login code for another device of an existing account.
    func inviteDevice(accountId: String, validFor days: Int) async throws -> Invitation
    /// Trades a login code for a device token.
    func redeem(_ request: RedeemRequest) async throws -> RedeemResponse
    /// The session a device token belongs to, or nil.
    func session(token: String) async throws -> Session?
    /// Applies a push exactly once per (client, mutation id), all of it in one transaction.
    func push(_ request: PushRequest, session: Session) async throws -> PushResponse
    /// The changes in the session's scope after `cursor`, at most `limit`.
    func pull(after cursor: Int64, limit: Int, session: Session) async throws -> RawPullResponse
    /// The register of authorities this server serves.
    func authorityRegister() async throws -> AuthorityRegister
    /// Adds authorities to the register, or replaces those with the same id; with `replacingAll`, the
    /// register becomes exactly `authorities`.
    func addAuthorities(_ authorities: [Authority], replacingAll: Bool) async throws
    /// Takes an authority out of the register. Its cases stay; devices show them as flagged.
    func removeAuthority(id: String) async throws
    /// Drops tombstones older than the retention.
    func compact(retentionDays: Int) async throws -> CompactionReport
    /// The citizen scopes whose running byte count differs from the bytes their records hold (none,
    /// unless something wrote records behind the store's back).
    func storageCountMismatches() async throws -> [String]
    /// Returns when the database answers a trivial query; throws `unavailable` when it does not
    /// within a couple of seconds.
    func checkReady() async throws
}

extension SyncStore {
    /// Adds authorities to the register, or replaces those with the same id.
    public func addAuthorities(_ authorities: [Authority]) async throws {
        try await addAuthorities(authorities, replacingAll: false)
    }
}

/// A bounded in-memory map of token hash → session, so a sync does not read the accounts every time.
public final class SessionCache: Sendable {
    private let entries = Mutex([String: Session]())
    private let capacity = 50_000

    public init() {}

    public func get(_ tokenHash: String) -> Session? { entries.withLock { $0[tokenHash] } }

    public func put(_ tokenHash: String, _ session: Session) {
        entries.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[tokenHash] = session
        }
    }
}
