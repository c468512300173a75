import CaseSyncProtocol

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

/// Where the server keeps accounts, cases and the change sequence. One adapter per backend;
/// every adapter passes the same tests.
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
}
